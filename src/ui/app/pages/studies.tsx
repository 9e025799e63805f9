/**
 * ui/app/pages/studies — the tuner's studies: a list, and per study the best trial, the trials
 * table with states, the optimization history (linear or log scale), intermediate values per
 * trial (pruned trials dashed and marked at the step they stopped), parameter importances, and
 * optuna-dashboard's plots: slices, contour, EDF, timeline and parallel coordinates.
 */
import { useMemo, useState } from 'preact/hooks';
import { api, type StudyReport, type TrialReport } from '../api.js';
import { Chart, type Series } from '../chart.js';
import { heat, ParallelCoordinates, type Axis } from '../parallel.js';
import { href } from '../router.js';
import { completeTrials, ContourPlot, EdfPlot, SlicePlots, TimelinePlot } from './study-plots.js';
import { Badge, ErrorBox, fmtDuration, fmtNum, fmtTime, PALETTE, Section, useLoad } from '../util.js';

export function StudiesPage() {
  const list = useLoad(() => api.listStudies(), []);
  return (
    <main>
      <h1>Studies</h1>
      <ErrorBox error={list.error} />
      <table class="grid" aria-label="studies">
        <thead>
          <tr>
            <th>Study</th>
            <th>Direction</th>
            <th>Trials</th>
            <th>States</th>
            <th>Best value</th>
            <th>Best trial</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((s) => (
            <tr data-study={s.name}>
              <td>
                <a href={href(['studies', s.name])}>{s.name}</a>
              </td>
              <td>{s.direction}</td>
              <td>{s.n_trials}</td>
              <td>
                {Object.entries(s.states).map(([state, n]) => (
                  <span class="state-count">
                    <Badge state={state} /> {n}
                  </span>
                ))}
              </td>
              <td>{fmtNum(s.best_value)}</td>
              <td>{s.best_trial ?? '—'}</td>
              <td>{fmtTime(s.started)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.length === 0 && <p class="muted">No studies yet: run `kiln tune`.</p>}
    </main>
  );
}

function history(study: StudyReport): Series[] {
  const done = study.trials.filter((t) => t.value !== null && (t.state === 'COMPLETE' || t.state === 'PRUNED'));
  const complete = done.filter((t) => t.state === 'COMPLETE');
  const pruned = done.filter((t) => t.state === 'PRUNED');
  const bestX: number[] = [];
  const bestY: number[] = [];
  let best: number | null = null;
  for (const t of complete) {
    const v = t.value as number;
    if (best === null || (study.direction === 'maximize' ? v > best : v < best)) best = v;
    bestX.push(t.number);
    bestY.push(best);
  }
  return [
    { label: 'objective (complete)', x: complete.map((t) => t.number), y: complete.map((t) => t.value), points: true, color: '#2563eb' },
    ...(pruned.length > 0 ? [{ label: 'last value (pruned)', x: pruned.map((t) => t.number), y: pruned.map((t) => t.value), points: true, color: '#dc2626', size: 5 }] : []),
    { label: 'best so far', x: bestX, y: bestY, color: '#16a34a' },
  ];
}

const CALM = PALETTE.filter((c) => c !== '#dc2626');

function intermediate(trials: TrialReport[]): Series[] {
  return trials
    .filter((t) => t.intermediate_values.length > 0)
    .map((t, i) => ({
      label: `#${t.number}${t.state === 'PRUNED' ? ' ✂ pruned' : ''}`,
      x: t.intermediate_values.map(([s]) => s),
      y: t.intermediate_values.map(([, v]) => v),
      // Red is kept for pruned trials.
      color: t.state === 'PRUNED' ? '#dc2626' : CALM[i % CALM.length],
      dash: t.state === 'PRUNED',
    }));
}

function Importances({ name }: { name: string }) {
  const imp = useLoad(() => api.importances(name), [name]);
  if (imp.error) return <ErrorBox error={imp.error} />;
  if (!imp.data) return <p class="muted">Computing (fANOVA)…</p>;
  const entries = Object.entries(imp.data.importances);
  if (entries.length === 0) return <p class="muted">{imp.data.reason ?? 'No importances.'}</p>;
  return (
    <div class="bars" role="list" aria-label="parameter importances">
      {entries.map(([k, v]) => (
        <div class="bar-row" role="listitem" data-param={k}>
          <span class="bar-label">{k}</span>
          <span class="bar" style={{ width: `${Math.max(1, v * 100)}%` }} />
          <span class="bar-value">{(v * 100).toFixed(1)}%</span>
        </div>
      ))}
      <p class="muted">
        {imp.data.evaluator} over {imp.data.n_complete} complete trials
      </p>
    </div>
  );
}

function History({ study }: { study: StudyReport }) {
  const series = useMemo(() => history(study), [study]);
  const [log, setLog] = useState(false);
  const positive = series.every((h) => Array.from(h.y).every((v) => v === null || v > 0));
  if (!series.some((h) => h.x.length > 0)) return <p class="muted">No values yet.</p>;
  return (
    <>
      <div class="toolbar">
        <button type="button" aria-pressed={log && positive} disabled={!positive} title={positive ? 'logarithmic objective axis' : 'a log scale needs every value above zero'} onClick={() => setLog(!log)}>
          Log scale
        </button>
      </div>
      <Chart series={series} xLabel="trial" yLabel="objective" testId="history-chart" logY={log && positive} />
    </>
  );
}

/** Parameters against the objective, a line per complete trial coloured by its objective. */
function StudyParallel({ study }: { study: StudyReport }) {
  const trials = completeTrials(study);
  const params = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();
  const values = trials.map((t) => t.value as number);
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  if (trials.length === 0) return <p class="muted">No complete trial yet.</p>;
  const axes: Axis<TrialReport>[] = [
    ...params.map((k): Axis<TrialReport> => ({ key: k, label: k, value: (t) => (t.params[k] === undefined || t.params[k] === null ? undefined : typeof t.params[k] === 'number' ? (t.params[k] as number) : String(t.params[k])) })),
    { key: 'objective', label: 'objective', value: (t) => t.value ?? undefined },
  ];
  return (
    <ParallelCoordinates
      items={trials}
      axes={axes}
      itemKey={(t) => String(t.number)}
      title={(t) => `#${t.number}: ${fmtNum(t.value)}`}
      color={(t) => heat(hi === lo ? 0.5 : ((t.value as number) - lo) / (hi - lo))}
    />
  );
}

export function StudyPage({ name }: { name: string }) {
  const study = useLoad(() => api.getStudy(name), [name]);
  const s = study.data;
  const inter = useMemo(() => (s ? intermediate(s.trials) : []), [s]);
  const paramKeys = s ? [...new Set(s.trials.flatMap((t) => Object.keys(t.params)))].sort() : [];
  const best = s?.trials.find((t) => t.number === s.best_trial);
  return (
    <main>
      <nav class="crumbs" aria-label="breadcrumb">
        <a href="#/studies">Studies</a> / <span>{name}</span>
      </nav>
      <h1>Study {name}</h1>
      <ErrorBox error={study.error} />
      {s && (
        <>
          <p>
            {s.direction} · {s.n_trials} trials ·{' '}
            {Object.entries(s.states).map(([state, n]) => (
              <span class="state-count">
                <Badge state={state} /> {n}{' '}
              </span>
            ))}
          </p>
          <Section title="Best trial" id="best">
            {best ? (
              <dl class="facts" data-testid="best-trial">
                <dt>Trial</dt>
                <dd>#{best.number}</dd>
                <dt>Value</dt>
                <dd>{fmtNum(best.value)}</dd>
                <dt>Params</dt>
                <dd class="mono">{Object.entries(best.params).map(([k, v]) => `${k}=${String(v)}`).join(', ')}</dd>
                <dt>Run</dt>
                <dd>{best.run_id ? <a href={href(['runs', best.run_id])}>{best.run_id}</a> : '—'}</dd>
              </dl>
            ) : (
              <p class="muted">No complete trial yet.</p>
            )}
          </Section>
          <div class="two">
            <Section title="Optimization history" id="history">
              <History study={s} />
            </Section>
            <Section title="Intermediate values" id="intermediate">
              {inter.length > 0 ? <Chart series={inter} xLabel="step" yLabel="reported value" testId="intermediate-chart" /> : <p class="muted">No trial reported intermediate values.</p>}
            </Section>
          </div>
          <Section title="Parameter importances" id="importances">
            <Importances name={name} />
          </Section>
          <Section title="Slice plots: objective against each parameter" id="slices">
            <SlicePlots study={s} />
          </Section>
          <div class="two">
            <Section title="Contour" id="contour">
              <ContourPlot study={s} />
            </Section>
            <Section title="Empirical distribution of the objective" id="edf">
              <EdfPlot study={s} />
            </Section>
          </div>
          <Section title="Parallel coordinates" id="study-parallel">
            <StudyParallel study={s} />
          </Section>
          <Section title="Timeline" id="timeline">
            <TimelinePlot study={s} />
          </Section>
          <Section title="Trials" id="trials">
            <div class="scroll-x">
              <table class="grid" aria-label="trials">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>State</th>
                    <th>Value</th>
                    {paramKeys.map((k) => (
                      <th>{k}</th>
                    ))}
                    <th>Steps</th>
                    <th>Duration</th>
                    <th>Run</th>
                  </tr>
                </thead>
                <tbody>
                  {s.trials.map((t) => (
                    <tr data-trial={t.number} class={t.number === s.best_trial ? 'best' : ''}>
                      <td>{t.number}</td>
                      <td>
                        <Badge state={t.state} />
                      </td>
                      <td>{fmtNum(t.value)}</td>
                      {paramKeys.map((k) => (
                        <td>{t.params[k] === undefined ? '—' : typeof t.params[k] === 'number' ? fmtNum(t.params[k] as number) : String(t.params[k])}</td>
                      ))}
                      <td>{t.intermediate_values.length}</td>
                      <td>{fmtDuration(t.datetime_start, t.datetime_complete)}</td>
                      <td>{t.run_id ? <a href={href(['runs', t.run_id])}>run</a> : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
        </>
      )}
    </main>
  );
}
