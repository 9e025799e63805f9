/**
 * ui/app/editable — in-place editing: a description (run notes, model and version descriptions)
 * and a run's tag table. Saving calls the REST API and shows its error in place; the caller
 * reloads what it shows from the server afterwards, so the page shows what was stored.
 */
import { useState } from 'preact/hooks';
import { ErrorBox } from './util.js';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Runs `work`, keeping its failure as a message instead of throwing. */
function useSaving(): { busy: boolean; error?: string; run: (work: () => Promise<unknown>) => Promise<boolean> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async (work: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export interface DescriptionProps {
  text: string;
  onSave: (text: string) => Promise<unknown>;
  /** aria-label of the text box. */
  label?: string;
}

/** A description shown as written (line breaks kept), with an editor behind "Edit description". */
export function Description({ text, onSave, label = 'description' }: DescriptionProps) {
  const [draft, setDraft] = useState<string | null>(null);
  const saving = useSaving();
  if (draft === null) {
    return (
      <div class="description">
        {text ? (
          <p class="note" data-testid="description">
            {text}
          </p>
        ) : (
          <p class="muted" data-testid="description">
            No description.
          </p>
        )}
        <button type="button" onClick={() => setDraft(text)}>
          Edit description
        </button>
      </div>
    );
  }
  return (
    <form
      class="description editing"
      onSubmit={(e) => {
        e.preventDefault();
        void saving.run(() => onSave(draft)).then((ok) => ok && setDraft(null));
      }}
    >
      <textarea aria-label={label} rows={4} value={draft} onInput={(e) => setDraft(e.currentTarget.value)} autoFocus />
      <div class="toolbar">
        <button type="submit" class="primary" disabled={saving.busy}>
          Save
        </button>
        <button type="button" onClick={() => setDraft(null)}>
          Cancel
        </button>
      </div>
      <ErrorBox error={saving.error} />
    </form>
  );
}

export interface TagEditorProps {
  tags: Array<{ key: string; value: string }>;
  /** Keys shown but not editable (system tags). */
  readOnly?: (key: string) => boolean;
  onSet: (key: string, value: string) => Promise<unknown>;
  onDelete: (key: string) => Promise<unknown>;
}

/** Tags as a key/value table: edit a value, delete a tag, add one. */
export function TagEditor({ tags, readOnly = () => false, onSet, onDelete }: TagEditorProps) {
  const [editing, setEditing] = useState<{ key: string; value: string } | null>(null);
  const [newKey, setNewKey] = useState('');
  const [newValue, setNewValue] = useState('');
  const saving = useSaving();
  const sorted = tags.slice().sort((a, b) => a.key.localeCompare(b.key));
  return (
    <div>
      {sorted.length === 0 && <p class="muted">None.</p>}
      <table class="grid kv">
        <tbody>
          {sorted.map((t) => (
            <tr data-tag={t.key}>
              <th scope="row">{t.key}</th>
              {editing?.key === t.key ? (
                <td colSpan={2}>
                  <form
                    class="inline-edit"
                    onSubmit={(e) => {
                      e.preventDefault();
                      void saving.run(() => onSet(t.key, editing.value)).then((ok) => ok && setEditing(null));
                    }}
                  >
                    <input aria-label="tag value" value={editing.value} onInput={(e) => setEditing({ key: t.key, value: e.currentTarget.value })} autoFocus />
                    <button type="submit" disabled={saving.busy}>
                      Save
                    </button>
                    <button type="button" onClick={() => setEditing(null)}>
                      Cancel
                    </button>
                  </form>
                </td>
              ) : (
                <>
                  <td class="wrap">{t.value}</td>
                  <td class="tag-actions">
                    {!readOnly(t.key) && (
                      <>
                        <button type="button" onClick={() => setEditing({ key: t.key, value: t.value })}>
                          Edit
                        </button>
                        <button type="button" class="danger" disabled={saving.busy} onClick={() => void saving.run(() => onDelete(t.key))}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <form
        class="toolbar"
        aria-label="add tag"
        onSubmit={(e) => {
          e.preventDefault();
          const key = newKey.trim();
          if (!key) return;
          void saving.run(() => onSet(key, newValue)).then((ok) => {
            if (ok) {
              setNewKey('');
              setNewValue('');
            }
          });
        }}
      >
        <input aria-label="new tag key" placeholder="key" value={newKey} onInput={(e) => setNewKey(e.currentTarget.value)} size={14} />
        <input aria-label="new tag value" placeholder="value" value={newValue} onInput={(e) => setNewValue(e.currentTarget.value)} size={20} />
        <button type="submit" disabled={saving.busy || newKey.trim() === ''}>
          Add tag
        </button>
      </form>
      <ErrorBox error={saving.error} />
    </div>
  );
}
