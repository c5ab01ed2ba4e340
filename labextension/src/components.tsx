import * as React from 'react';

import {
  CellStatus,
  IErrorBody,
  IFeature,
  IFeatureCell,
  IHazard,
  IParityReport
} from './request';
import { badgeTone, reportVerdict } from './verdict';

/** Where a click on a hazard or an error sends the user. */
export interface ICellTarget {
  cellId?: string | null;
  cellIndex?: number | null;
  line?: number | null;
  col?: number | null;
}

export type JumpToCell = (target: ICellTarget) => void;
export type OpenFile = (path: string) => void;

function featureLabel(feature: IFeature | string): string {
  if (typeof feature === 'string') {
    return feature;
  }
  return feature.dtype ? `${feature.name}: ${feature.dtype}` : feature.name;
}

export function StatusBadge(props: { status: CellStatus }): JSX.Element {
  const slug = props.status.replace(/\s+/g, '-');
  return (
    <span
      className={`jp-nb2feast-badge jp-nb2feast-badge-${slug}`}
      data-testid="nb2feast-status"
      data-tone={badgeTone(props.status)}
    >
      {props.status}
    </span>
  );
}

export function CellItem(props: {
  cell: IFeatureCell;
  onJump: JumpToCell;
}): JSX.Element {
  const { cell, onJump } = props;
  return (
    <li
      className="jp-nb2feast-cell"
      data-testid="nb2feast-cell"
      data-name={cell.name}
      data-status={cell.status}
    >
      <div className="jp-nb2feast-cell-head">
        <button
          className="jp-nb2feast-link jp-nb2feast-cell-name"
          title={`Go to cell ${cell.cell_index}`}
          onClick={() => onJump({ cellId: cell.cell_id, cellIndex: cell.cell_index })}
        >
          {cell.name}
        </button>
        <span className="jp-nb2feast-kind">
          {cell.kind === 'on_demand' ? 'on demand' : 'batch'}
        </span>
        <StatusBadge status={cell.status} />
      </div>
      {cell.entities.length > 0 && (
        <div className="jp-nb2feast-entities">
          by {cell.entities.join(', ')}
        </div>
      )}
      <ul className="jp-nb2feast-features">
        {cell.features.map(feature => (
          <li key={featureLabel(feature)}>{featureLabel(feature)}</li>
        ))}
      </ul>
    </li>
  );
}

export function CellList(props: {
  cells: IFeatureCell[];
  onJump: JumpToCell;
}): JSX.Element {
  if (props.cells.length === 0) {
    return (
      <p className="jp-nb2feast-empty" data-testid="nb2feast-empty">
        No <code>%%feature</code> cells in this notebook.
      </p>
    );
  }
  return (
    <ul className="jp-nb2feast-cells">
      {props.cells.map(cell => (
        <CellItem key={cell.cell_id || cell.name} cell={cell} onJump={props.onJump} />
      ))}
    </ul>
  );
}

export function ParitySummary(props: { report: IParityReport }): JSX.Element {
  const { ok, headline, lines } = reportVerdict(props.report);
  return (
    <section
      className="jp-nb2feast-parity"
      data-testid="nb2feast-parity"
      data-ok={String(ok)}
    >
      <h3>Parity</h3>
      <p
        className={ok ? 'jp-nb2feast-parity-ok' : 'jp-nb2feast-parity-mismatch'}
        data-testid="nb2feast-headline"
      >
        {headline}
      </p>
      <ul>
        {lines.map(line => (
          <li key={line} data-testid="nb2feast-mismatch">
            {line}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function HazardList(props: {
  hazards: IHazard[];
  onJump: JumpToCell;
}): JSX.Element | null {
  if (props.hazards.length === 0) {
    return null;
  }
  return (
    <section className="jp-nb2feast-hazards">
      <h3>Hazards</h3>
      <ul>
        {props.hazards.map(h => (
          <li
            key={`${h.code}-${h.cell_id}-${h.line}-${h.col}`}
            className={`jp-nb2feast-hazard jp-nb2feast-severity-${h.severity}`}
            data-testid="nb2feast-hazard"
            data-code={h.code}
          >
            <button
              className="jp-nb2feast-link"
              title="Go to the cell"
              onClick={() =>
                props.onJump({
                  cellId: h.cell_id,
                  cellIndex: h.cell_index,
                  line: h.line,
                  col: h.col
                })
              }
            >
              {h.code} {h.severity}: cell {h.cell_index}, line {h.line}
            </button>
            <div>{h.message}</div>
            {h.fix && <div className="jp-nb2feast-fix">Fix: {h.fix}</div>}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function FileLinks(props: {
  files: string[];
  repo: string;
  onOpen: OpenFile;
}): JSX.Element | null {
  const prefix = props.repo ? `${props.repo}/` : '';
  if (props.files.length === 0) {
    return null;
  }
  return (
    <section className="jp-nb2feast-files">
      <h3>
        Generated files in <code>{props.repo}</code>
      </h3>
      <ul>
        {props.files.map(path => (
          <li key={path}>
            <button
              className="jp-nb2feast-link"
              data-testid="nb2feast-file"
              data-path={path}
              title={`Open ${path}`}
              onClick={() => props.onOpen(path)}
            >
              {path.startsWith(prefix) ? path.slice(prefix.length) : path}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ErrorBox(props: {
  error: IErrorBody;
  onJump: JumpToCell;
}): JSX.Element {
  const { error, onJump } = props;
  const inCell = error.cell_index !== null && error.cell_index !== undefined;
  return (
    <div className="jp-nb2feast-error" data-testid="nb2feast-error" role="alert">
      <div className="jp-nb2feast-error-message">{error.message}</div>
      {inCell && (
        <button
          className="jp-nb2feast-link"
          onClick={() =>
            onJump({
              cellId: error.cell_id,
              cellIndex: error.cell_index,
              line: error.line,
              col: error.col
            })
          }
        >
          cell {error.cell_index}
          {error.line ? `, line ${error.line}` : ''}
        </button>
      )}
      {error.fix && <div className="jp-nb2feast-fix">Fix: {error.fix}</div>}
    </div>
  );
}
