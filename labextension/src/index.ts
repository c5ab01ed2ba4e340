import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { ICellTarget } from './components';
import { FeaturesModel } from './model';
import { createFeaturesPanel, PANEL_ID } from './panel';

/** Activate the notebook's cell `target` points at and put the cursor on its line. */
function jumpToCell(
  app: JupyterFrontEnd,
  panel: NotebookPanel | null,
  target: ICellTarget
): void {
  if (!panel) {
    return;
  }
  const notebook = panel.content;
  let index = notebook.widgets.findIndex(cell => cell.model.id === target.cellId);
  if (index < 0 && typeof target.cellIndex === 'number') {
    index = target.cellIndex;
  }
  const cell = notebook.widgets[index];
  if (!cell) {
    return;
  }
  app.shell.activateById(panel.id);
  notebook.activeCellIndex = index;
  void notebook.scrollToCell(cell, 'center');
  if (target.line && cell.editor) {
    cell.editor.setCursorPosition({
      line: target.line - 1,
      column: Math.max((target.col ?? 1) - 1, 0)
    });
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nb2feast:plugin',
  description:
    'A "Features" sidebar: promote a notebook\'s %%feature cells to Feast and show parity.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null
  ) => {
    const model = new FeaturesModel();
    const panel = createFeaturesPanel({
      model,
      onJump: target => jumpToCell(app, model.panel, target),
      onOpen: path => void app.commands.execute('docmanager:open', { path })
    });
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, PANEL_ID);
    model.setNotebook(tracker.currentWidget);
    tracker.currentChanged.connect((_, current) => model.setNotebook(current));
  }
};

export default plugin;
