/**
 * ui/app/pages/experiments — list, search, create, rename, delete and restore experiments.
 */
import { useState } from 'preact/hooks';
import { api, quote, type ViewType } from '../api.js';
import { href, setQuery, type Route } from '../router.js';
import { ErrorBox, fmtTime, useLoad } from '../util.js';

export function ExperimentsPage({ route }: { route: Route }) {
  const search = route.query.get('q') ?? '';
  const view = (route.query.get('view') ?? 'ACTIVE_ONLY') as ViewType;
  const [draft, setDraft] = useState(search);
  const [newName, setNewName] = useState('');
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);
  const [error, setError] = useState<string>();
  const list = useLoad(
    () => api.searchExperiments({ view_type: view, filter: search ? `name ILIKE ${quote(`%${search}%`)}` : undefined, order_by: ['creation_time DESC'] }),
    [search, view],
  );
  const act = async (work: Promise<unknown>): Promise<void> => {
    setError(undefined);
    try {
      await work;
      list.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <main>
      <h1>Experiments</h1>
      <div class="toolbar">
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ q: draft });
          }}
        >
          <input type="search" name="q" placeholder="Search by name…" aria-label="search experiments" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} data-hotkey="/" />
          <button type="submit">Search</button>
        </form>
        <label>
          Show{' '}
          <select value={view} onChange={(e) => setQuery({ view: e.currentTarget.value === 'ACTIVE_ONLY' ? undefined : e.currentTarget.value })} aria-label="lifecycle">
            <option value="ACTIVE_ONLY">active</option>
            <option value="DELETED_ONLY">deleted</option>
            <option value="ALL">all</option>
          </select>
        </label>
        <form
          class="grow-right"
          onSubmit={(e) => {
            e.preventDefault();
            if (newName.trim()) void act(api.createExperiment(newName.trim()).then(() => setNewName('')));
          }}
        >
          <input placeholder="New experiment name" aria-label="new experiment name" value={newName} onInput={(e) => setNewName(e.currentTarget.value)} />
          <button type="submit">Create</button>
        </form>
      </div>
      <ErrorBox error={error ?? list.error} />
      <table class="grid" aria-label="experiments">
        <thead>
          <tr>
            <th>Name</th>
            <th>ID</th>
            <th>Created</th>
            <th>Last update</th>
            <th>State</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((x) => (
            <tr key={x.experiment_id} data-experiment={x.name}>
              <td>
                {renaming?.id === x.experiment_id ? (
                  <form
                    onSubmit={(e) => {
                      e.preventDefault();
                      void act(api.renameExperiment(x.experiment_id, renaming.name)).then(() => setRenaming(null));
                    }}
                  >
                    <input aria-label="new name" value={renaming.name} autoFocus onInput={(e) => setRenaming({ id: x.experiment_id, name: e.currentTarget.value })} onKeyDown={(e) => e.key === 'Escape' && setRenaming(null)} />
                    <button type="submit">Save</button>
                  </form>
                ) : (
                  <a href={href(['experiments', x.experiment_id])}>{x.name}</a>
                )}
              </td>
              <td class="mono">{x.experiment_id}</td>
              <td>{fmtTime(x.creation_time)}</td>
              <td>{fmtTime(x.last_update_time)}</td>
              <td>{x.lifecycle_stage}</td>
              <td class="actions">
                <button onClick={() => setRenaming({ id: x.experiment_id, name: x.name })}>Rename</button>
                {x.lifecycle_stage === 'active' ? (
                  <button class="danger" onClick={() => confirm(`Delete experiment "${x.name}"? It can be restored later.`) && void act(api.deleteExperiment(x.experiment_id))}>
                    Delete
                  </button>
                ) : (
                  <button onClick={() => void act(api.restoreExperiment(x.experiment_id))}>Restore</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.length === 0 && <p class="muted">No experiments{search ? ` matching "${search}"` : ''}.</p>}
    </main>
  );
}
