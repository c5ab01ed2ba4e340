import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** A skew hazard (SPEC section 4), positioned in the notebook. */
export interface IHazard {
  code: string;
  category: string;
  severity: 'error' | 'warning' | 'info';
  cell_index: number;
  cell_id: string;
  line: number;
  col: number;
  message: string;
  fix: string;
  view?: string;
}

/** A feature column; the dtype is known once the cell ran or the data was read. */
export interface IFeature {
  name: string;
  dtype?: string | null;
  feast_type?: string | null;
}

export type CellStatus =
  | 'not exported'
  | 'exported'
  | 'stale'
  | 'parity ok'
  | 'mismatch'
  | 'hazards'
  | 'error';

/** The report's verdict on one view (nb2feast.proof.report.view_status). */
export type ViewStatus = 'ok' | 'mismatch' | 'stale' | 'hazard' | 'error';

/** One `%%feature` cell as `GET /nb2feast/cells` lists it. */
export interface IFeatureCell {
  name: string;
  kind: 'batch' | 'on_demand';
  entities: string[];
  features: Array<IFeature | string>;
  hazards: IHazard[];
  cell_index: number;
  cell_id: string;
  status: CellStatus;
}

export interface IParityFeature {
  name: string;
  ok: boolean;
  mismatches: number;
  null_mismatches: number;
  max_abs_err: number | string;
  dtype_notebook: string;
  dtype_feast: string;
}

export interface IParityCheck {
  path: 'offline' | 'online';
  mode?: string;
  ok?: boolean;
  rows_expected: number;
  rows_returned: number;
  features: IParityFeature[];
  error?: string;
  feast_view?: string;
}

export interface IViewParity {
  name: string;
  kind: 'batch' | 'on_demand';
  ok?: boolean;
  status?: ViewStatus;
  checks: IParityCheck[];
  stale?: string[];
  notes?: string[];
  error?: { phase: string; message: string };
  coverage?: Record<string, unknown>;
}

/** The parity report of SPEC section 3. */
export interface IParityReport {
  ok: boolean;
  summary?: string;
  notebook: string;
  repo: string;
  views: IViewParity[];
  hazards: IHazard[];
}

export interface ICellsResponse {
  notebook: string;
  repo: string;
  repo_status: 'not exported' | 'exported' | 'stale';
  report: IParityReport | null;
  cells: IFeatureCell[];
}

export interface IPromoteResponse {
  ok: boolean;
  notebook: string;
  repo: string;
  files: string[];
  stale: string[];
  report: IParityReport;
  hazards: IHazard[];
}

/** The `error` member of a failed response; user errors carry a position and a fix. */
export interface IErrorBody {
  message: string;
  fix?: string;
  notebook?: string | null;
  cell_index?: number | null;
  cell_id?: string | null;
  line?: number | null;
  col?: number | null;
}

/** A failed request: the HTTP status and the server's readable error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: IErrorBody
  ) {
    super(body.message);
  }
}

/** Call `/nb2feast/<endPoint>` with Jupyter's auth; resolve to the JSON body or throw ApiError. */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'nb2feast', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(0, { message: `Cannot reach the server: ${error}` });
  }
  const text = await response.text();
  let data: any = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: { message: text } };
    }
  }
  if (!response.ok) {
    const body: IErrorBody = data.error ?? {
      message: data.message ?? response.statusText
    };
    throw new ApiError(response.status, body);
  }
  return data as T;
}

/** The feature cells of the notebook at `path` (relative to the server root). */
export function fetchCells(path: string): Promise<ICellsResponse> {
  return requestAPI<ICellsResponse>(`cells?path=${encodeURIComponent(path)}`);
}

/** Export the notebook at `path` into its feature repository and verify parity. */
export function promoteNotebook(
  path: string,
  cellId?: string
): Promise<IPromoteResponse> {
  const body = cellId ? { path, cell_id: cellId } : { path };
  return requestAPI<IPromoteResponse>('promote', {
    method: 'POST',
    body: JSON.stringify(body)
  });
}
