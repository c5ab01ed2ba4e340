import { DocumentRegistry } from '@jupyterlab/docregistry';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ApiError,
  fetchCells,
  ICellsResponse,
  IErrorBody,
  IPromoteResponse,
  promoteNotebook
} from './request';

/**
 * What the Features panel shows for the active notebook, and the two things it does:
 * refresh the cell list and promote the notebook. Views re-render on `changed`.
 */
export class FeaturesModel {
  private _panel: NotebookPanel | null = null;
  private _cells: ICellsResponse | null = null;
  private _error: IErrorBody | null = null;
  /** A failed promote stays on screen until the next promote; a refresh does not clear it. */
  private _errorFromPromote = false;
  private _loading = false;
  private readonly _results = new Map<string, IPromoteResponse>();
  private readonly _promoting = new Set<string>();
  private readonly _changed = new Signal<this, void>(this);

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get panel(): NotebookPanel | null {
    return this._panel;
  }

  /** The active notebook's path relative to the server root, or null. */
  get path(): string | null {
    return this._panel?.context.localPath ?? null;
  }

  get cells(): ICellsResponse | null {
    return this._cells;
  }

  get error(): IErrorBody | null {
    return this._error;
  }

  get loading(): boolean {
    return this._loading;
  }

  get promoting(): boolean {
    return this.path !== null && this._promoting.has(this.path);
  }

  /** The last promote of the active notebook during this session, if any. */
  get result(): IPromoteResponse | null {
    return (this.path && this._results.get(this.path)) || null;
  }

  /** Follow `panel` (the active notebook): refresh now and whenever it is saved or renamed. */
  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this._panel) {
      return;
    }
    if (this._panel) {
      this._panel.context.saveState.disconnect(this._onSaveState, this);
      this._panel.context.pathChanged.disconnect(this._onPathChanged, this);
    }
    this._panel = panel;
    this._cells = null;
    this._error = null;
    this._errorFromPromote = false;
    if (panel) {
      panel.context.saveState.connect(this._onSaveState, this);
      panel.context.pathChanged.connect(this._onPathChanged, this);
      void panel.context.ready.then(() => this.refresh());
    }
    this._changed.emit();
  }

  /** Reload the feature cells and their status from the server. */
  async refresh(): Promise<void> {
    const path = this.path;
    if (path === null) {
      return;
    }
    this._loading = true;
    this._changed.emit();
    try {
      const cells = await fetchCells(path);
      if (path === this.path) {
        this._cells = cells;
        if (!this._errorFromPromote) {
          this._error = null;
        }
      }
    } catch (error) {
      if (path === this.path && !this._errorFromPromote) {
        this._error = errorBody(error);
      }
    } finally {
      this._loading = false;
      this._changed.emit();
    }
  }

  /** Export the active notebook into its feature repository and verify parity. */
  async promote(): Promise<void> {
    const path = this.path;
    if (path === null || this._promoting.has(path)) {
      return;
    }
    this._promoting.add(path);
    this._error = null;
    this._errorFromPromote = false;
    this._changed.emit();
    try {
      this._results.set(path, await promoteNotebook(path));
    } catch (error) {
      this._results.delete(path);
      if (path === this.path) {
        this._error = errorBody(error);
        this._errorFromPromote = true;
      }
    } finally {
      this._promoting.delete(path);
      this._changed.emit();
    }
    if (path === this.path) {
      await this.refresh();
    }
  }

  dispose(): void {
    this.setNotebook(null);
    Signal.clearData(this);
  }

  private _onSaveState(
    _: DocumentRegistry.IContext<any>,
    state: DocumentRegistry.SaveState
  ): void {
    if (state === 'completed') {
      void this.refresh();
    }
  }

  private _onPathChanged(): void {
    void this.refresh();
  }
}

function errorBody(error: unknown): IErrorBody {
  if (error instanceof ApiError) {
    return error.body;
  }
  return { message: String(error) };
}
