import { ReactWidget, SidePanel, UseSignal } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import * as React from 'react';

import {
  CellList,
  ErrorBox,
  FileLinks,
  HazardList,
  JumpToCell,
  OpenFile,
  ParitySummary
} from './components';
import { featuresIcon } from './icon';
import { FeaturesModel } from './model';
import { IHazard } from './request';

export const PANEL_ID = 'nb2feast-features';

interface IViewProps {
  model: FeaturesModel;
  onJump: JumpToCell;
  onOpen: OpenFile;
}

function Progress(props: { text: string }): JSX.Element {
  return (
    <div className="jp-nb2feast-progress" data-testid="nb2feast-progress" role="status">
      <span className="jp-nb2feast-spinner" />
      {props.text}
    </div>
  );
}

/** The hazards of the last promote, else those the cells report before export. */
function shownHazards(model: FeaturesModel): IHazard[] {
  if (model.result) {
    return model.result.hazards;
  }
  return (model.cells?.cells ?? []).flatMap(cell => cell.hazards ?? []);
}

function FeaturesBody(props: IViewProps): JSX.Element {
  const { model, onJump, onOpen } = props;
  if (model.path === null) {
    return (
      <p className="jp-nb2feast-empty" data-testid="nb2feast-no-notebook">
        Open a notebook to see its feature cells.
      </p>
    );
  }
  const report = model.result?.report ?? model.cells?.report ?? null;
  return (
    <>
      <div className="jp-nb2feast-toolbar">
        <span className="jp-nb2feast-notebook" title={model.path}>
          {model.path}
        </span>
        <button
          className="jp-mod-styled jp-mod-accept jp-nb2feast-promote"
          data-testid="nb2feast-promote"
          disabled={model.promoting || !model.cells?.cells.length}
          title={`Export to ${model.cells?.repo ?? 'feature_repo/'} and verify parity`}
          onClick={() => void model.promote()}
        >
          {model.promoting ? 'Promoting…' : 'Promote'}
        </button>
      </div>
      {model.promoting && <Progress text="Exporting and verifying parity…" />}
      {model.loading && !model.cells && <Progress text="Reading feature cells…" />}
      {model.error && <ErrorBox error={model.error} onJump={onJump} />}
      {model.cells && (
        <>
          <div className="jp-nb2feast-repo">
            Repository <code>{model.cells.repo}</code>: {model.cells.repo_status}
          </div>
          <CellList cells={model.cells.cells} onJump={onJump} />
        </>
      )}
      {report && <ParitySummary report={report} />}
      <HazardList hazards={shownHazards(model)} onJump={onJump} />
      <FileLinks
        files={model.result?.files ?? []}
        repo={model.result?.repo ?? ''}
        onOpen={onOpen}
      />
    </>
  );
}

/** The panel's content: re-rendered whenever the model changes. */
export class FeaturesView extends ReactWidget {
  constructor(private readonly _props: IViewProps) {
    super();
    this.addClass('jp-nb2feast-view');
    this.node.dataset.testid = 'nb2feast-panel';
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this._props.model.changed}>
        {() => <FeaturesBody {...this._props} />}
      </UseSignal>
    );
  }
}

/** The left-sidebar "Features" panel around a `FeaturesView`. */
export function createFeaturesPanel(props: IViewProps): SidePanel {
  const panel = new SidePanel({ content: new Panel() });
  panel.id = PANEL_ID;
  panel.addClass('jp-nb2feast-panel');
  panel.title.icon = featuresIcon;
  panel.title.caption = 'Features';
  panel.toolbar.hide();
  const heading = new Widget();
  heading.node.textContent = 'Features';
  heading.addClass('jp-nb2feast-title');
  panel.header.addWidget(heading);
  panel.addWidget(new FeaturesView(props));
  return panel;
}
