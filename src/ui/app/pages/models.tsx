/**
 * ui/app/pages/models — the model registry: models, their versions and aliases, the full
 * history of alias moves, links back to the runs, editable model tags and model and version
 * descriptions.
 * Moving an alias asks for confirmation in a modal dialog that names what changes.
 */
import { useRef, useState } from 'preact/hooks';
import { api, quote } from '../api.js';
import { Description, TagEditor } from '../editable.js';
import { href } from '../router.js';
import { ErrorBox, fmtTime, Section, useLoad } from '../util.js';

export function ModelsPage() {
  const models = useLoad(() => api.searchModels(), []);
  return (
    <main>
      <h1>Models</h1>
      <ErrorBox error={models.error} />
      <table class="grid" aria-label="registered models">
        <thead>
          <tr>
            <th>Model</th>
            <th>Latest version</th>
            <th>Aliases</th>
            <th>Last updated</th>
            <th>Description</th>
          </tr>
        </thead>
        <tbody>
          {(models.data ?? []).map((m) => (
            <tr data-model={m.name}>
              <td>
                <a href={href(['models', m.name])}>{m.name}</a>
              </td>
              <td>{m.latest_versions[0] ? `v${m.latest_versions[0].version}` : '—'}</td>
              <td>
                {m.aliases.map((a) => (
                  <span class="alias">
                    @{a.alias} → v{a.version}
                  </span>
                ))}
              </td>
              <td>{fmtTime(m.last_updated_timestamp)}</td>
              <td>{m.description ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {models.data?.length === 0 && <p class="muted">No registered models yet.</p>}
    </main>
  );
}

interface Move {
  alias: string;
  version: string;
  from?: string;
}

export function ModelPage({ name }: { name: string }) {
  const model = useLoad(() => api.getModel(name), [name]);
  const versions = useLoad(() => api.searchVersions(`name = ${quote(name)}`), [name]);
  const events = useLoad(() => api.aliasHistory(name), [name]);
  const dialog = useRef<HTMLDialogElement>(null);
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState('');
  const [reason, setReason] = useState('');
  const [pending, setPending] = useState<Move | null>(null);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();

  const aliases = model.data?.aliases ?? [];
  const sorted = (versions.data ?? []).slice().sort((a, b) => Number(b.version) - Number(a.version));
  const chosenAlias = alias || aliases[0]?.alias || 'champion';
  const chosenVersion = version || sorted[0]?.version || '';

  const ask = (e: Event): void => {
    e.preventDefault();
    setError(undefined);
    setDone(undefined);
    setPending({ alias: chosenAlias, version: chosenVersion, from: aliases.find((a) => a.alias === chosenAlias)?.version });
    dialog.current?.showModal();
  };
  const confirmMove = async (): Promise<void> => {
    if (!pending) return;
    dialog.current?.close();
    try {
      await api.setAlias(name, pending.alias, pending.version, reason || undefined);
      setDone(`@${pending.alias} now points to v${pending.version}.`);
      setReason('');
      model.reload();
      versions.reload();
      events.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
    setPending(null);
  };

  return (
    <main>
      <nav class="crumbs" aria-label="breadcrumb">
        <a href="#/models">Models</a> / <span>{name}</span>
      </nav>
      <h1>{name}</h1>
      <ErrorBox error={model.error ?? versions.error} />
      {model.data && (
        <Section title="Description" id="model-description">
          <Description text={model.data.description ?? ''} onSave={(text) => api.updateModel(name, text).then(model.reload)} />
        </Section>
      )}
      {model.data && (
        <Section title="Tags" id="model-tags">
          <TagEditor tags={model.data.tags ?? []} onSet={(key, value) => api.setModelTag(name, key, value).then(model.reload)} onDelete={(key) => api.deleteModelTag(name, key).then(model.reload)} />
        </Section>
      )}
      <Section title="Aliases" id="aliases">
        <p>
          {aliases.length === 0 && <span class="muted">No aliases. </span>}
          {aliases.map((a) => (
            <span class="alias" data-alias={a.alias}>
              @{a.alias} → v{a.version}
            </span>
          ))}
        </p>
        <form class="toolbar" onSubmit={ask} aria-label="move alias">
          <label>
            Alias{' '}
            <input list="alias-names" aria-label="alias" value={chosenAlias} onInput={(e) => setAlias(e.currentTarget.value)} size={12} />
          </label>
          <datalist id="alias-names">
            {aliases.map((a) => (
              <option value={a.alias} />
            ))}
          </datalist>
          <label>
            to version{' '}
            <select aria-label="version" value={chosenVersion} onChange={(e) => setVersion(e.currentTarget.value)}>
              {sorted.map((v) => (
                <option value={v.version}>v{v.version}</option>
              ))}
            </select>
          </label>
          <label>
            Reason <input aria-label="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} placeholder="optional" />
          </label>
          <button type="submit" disabled={!chosenVersion || !chosenAlias}>
            Move alias…
          </button>
        </form>
        {done && (
          <p class="ok" role="status">
            {done}
          </p>
        )}
        <ErrorBox error={error} />
        <dialog ref={dialog} aria-labelledby="confirm-title" onClose={() => setPending(null)}>
          <h2 id="confirm-title">Move @{pending?.alias}?</h2>
          <p>
            {pending?.from ? `@${pending.alias} points to v${pending.from} now; ` : `@${pending?.alias} is new; `}
            it will point to <strong>v{pending?.version}</strong> of {name}. Anything that loads <code>models:/{name}@{pending?.alias}</code> gets that version from
            then on.
          </p>
          <div class="toolbar">
            <button class="primary" onClick={() => void confirmMove()}>
              Move alias
            </button>
            <button onClick={() => dialog.current?.close()} autoFocus>
              Cancel
            </button>
          </div>
        </dialog>
      </Section>
      <Section title="Versions" id="versions">
        <table class="grid" aria-label="versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>Aliases</th>
              <th>Created</th>
              <th>Status</th>
              <th>Run</th>
              <th>Source</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((v) => (
              <tr data-version={v.version}>
                <td>v{v.version}</td>
                <td>
                  {v.aliases.map((a) => (
                    <span class="alias">@{a}</span>
                  ))}
                </td>
                <td>{fmtTime(v.creation_timestamp)}</td>
                <td>{v.status}</td>
                <td>{v.run_id ? <a href={href(['runs', v.run_id])}>{v.run_id.slice(0, 8)}</a> : '—'}</td>
                <td class="mono wrap">{v.source}</td>
                <VersionDescription text={v.description ?? ''} onSave={(text) => api.updateVersion(name, v.version, text).then(versions.reload)} />
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Alias history" id="alias-history">
        {(events.data ?? []).length === 0 ? (
          <p class="muted">No alias was ever set.</p>
        ) : (
          <table class="grid" aria-label="alias history">
            <thead>
              <tr>
                <th>When</th>
                <th>Alias</th>
                <th>Move</th>
                <th>By</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {(events.data ?? [])
                .slice()
                .sort((a, b) => b.timestamp - a.timestamp)
                .map((e) => (
                  <tr>
                    <td>{fmtTime(e.timestamp)}</td>
                    <td>@{e.alias}</td>
                    <td>
                      {e.from_version === null ? 'created' : `v${e.from_version}`} → {e.to_version === null ? 'deleted' : `v${e.to_version}`}
                    </td>
                    <td>{e.user_id || '—'}</td>
                    <td>{e.reason ?? ''}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        )}
      </Section>
    </main>
  );
}

/** A version's description in its table cell, with a small editor in place. */
function VersionDescription({ text, onSave }: { text: string; onSave: (text: string) => Promise<unknown> }) {
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  if (draft === null) {
    return (
      <td class="note">
        {text}{' '}
        <button type="button" class="small" onClick={() => setDraft(text)} aria-label="Edit version description">
          Edit
        </button>
      </td>
    );
  }
  const save = (e: Event): void => {
    e.preventDefault();
    setError(undefined);
    onSave(draft).then(
      () => setDraft(null),
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  };
  return (
    <td>
      <form onSubmit={save} class="inline-edit">
        <textarea aria-label="version description" rows={2} value={draft} onInput={(e) => setDraft(e.currentTarget.value)} autoFocus />
        <button type="submit">Save</button>
        <button type="button" onClick={() => setDraft(null)}>
          Cancel
        </button>
      </form>
      <ErrorBox error={error} />
    </td>
  );
}
