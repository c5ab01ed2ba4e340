import { FeaturesModel } from '../model';
import { ApiError, fetchCells, promoteNotebook } from '../request';

jest.mock('../request', () => {
  class ApiError extends Error {
    constructor(
      public status: number,
      public body: { message: string }
    ) {
      super(body.message);
    }
  }
  return { ApiError, fetchCells: jest.fn(), promoteNotebook: jest.fn() };
});

const fetchCellsMock = fetchCells as jest.MockedFunction<typeof fetchCells>;
const promoteMock = promoteNotebook as jest.MockedFunction<typeof promoteNotebook>;

/** A stand-in NotebookPanel: a path, and the two signals the model listens to. */
function fakePanel(path: string): any {
  const signal = () => ({ connect: jest.fn(), disconnect: jest.fn() });
  return {
    context: { localPath: path, ready: Promise.resolve(), saveState: signal(), pathChanged: signal() }
  };
}

const cells = {
  notebook: 'nb.ipynb',
  repo: 'feature_repo',
  repo_status: 'exported',
  report: null,
  cells: []
} as any;

beforeEach(() => {
  fetchCellsMock.mockReset();
  promoteMock.mockReset();
});

describe('FeaturesModel', () => {
  it('keeps the result of a promote and refreshes the cells after it', async () => {
    // Given a notebook in the panel
    fetchCellsMock.mockResolvedValue(cells);
    const result = { ok: false, report: { ok: false, views: [], hazards: [] } } as any;
    promoteMock.mockResolvedValue(result);
    const model = new FeaturesModel();
    model.setNotebook(fakePanel('nb.ipynb'));
    // When promoted
    await model.promote();
    // Then the result is kept for that notebook and the cells were fetched again
    expect(promoteMock).toHaveBeenCalledWith('nb.ipynb');
    expect(model.result).toBe(result);
    expect(fetchCellsMock).toHaveBeenCalled();
    expect(model.promoting).toBe(false);
  });

  it('keeps a failed promote on screen through the refresh that follows', async () => {
    fetchCellsMock.mockResolvedValue(cells);
    promoteMock.mockRejectedValue(new (ApiError as any)(400, { message: 'the notebook failed' }));
    const model = new FeaturesModel();
    model.setNotebook(fakePanel('nb.ipynb'));
    await model.promote();
    expect(model.error?.message).toBe('the notebook failed');
    await model.refresh();
    expect(model.error?.message).toBe('the notebook failed');
    expect(model.result).toBeNull();
  });
});
