/**
 * Activity over the selected range, by outcome: a stacked bar chart drawn on the server as inline
 * SVG (no script, no chart library, nothing fetched). Pure: entries and a range in, markup out.
 * Each bar has a `<title>` (hover and screen readers), the chart a text alternative, and the
 * numbers are also given as a table under a disclosure, so nothing is told by colour alone.
 */
import { OUTCOME_CLASSES, type AuditEntry, type OutcomeClass } from '../audit/entry'
import type { TimeRange } from '../audit/store'
import { TableRegion } from './layout'

const BUCKETS = 24
const WIDTH = 720
const HEIGHT = 220
const PLOT = { left: 40, right: 8, top: 10, bottom: 30 }

export interface Bucket {
  from: number
  to: number
  counts: Record<OutcomeClass, number>
  total: number
}

const zero = () =>
  Object.fromEntries(OUTCOME_CLASSES.map((o) => [o, 0])) as Record<OutcomeClass, number>

/** Entries counted per equal slice of the range (the last slice ends at the range's end). */
export function bucketize(entries: AuditEntry[], range: TimeRange, count = BUCKETS): Bucket[] {
  const span = Math.max(1, range.to - range.from)
  const width = span / count
  const buckets: Bucket[] = Array.from({ length: count }, (_, i) => ({
    from: range.from + i * width,
    to: range.from + (i + 1) * width,
    counts: zero(),
    total: 0,
  }))
  for (const entry of entries) {
    const time = Date.parse(entry.time)
    if (time < range.from || time > range.to) continue
    const bucket = buckets[Math.min(count - 1, Math.floor((time - range.from) / width))]!
    bucket.counts[entry.outcome.class]++
    bucket.total++
  }
  return buckets
}

const label = (ms: number, span: number) => {
  const iso = new Date(ms).toISOString()
  return span <= 2 * 86_400_000 ? iso.slice(5, 16).replace('T', ' ') : iso.slice(0, 10)
}

export function ActivityChart(props: { buckets: Bucket[]; range: TimeRange; note?: string }) {
  const { buckets, range } = props
  const max = Math.max(1, ...buckets.map((b) => b.total))
  const plotWidth = WIDTH - PLOT.left - PLOT.right
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom
  const barWidth = plotWidth / buckets.length
  const y = (n: number) => (n / max) * plotHeight
  const total = buckets.reduce((sum, b) => sum + b.total, 0)
  const span = range.to - range.from
  const byOutcome = OUTCOME_CLASSES.map((o) => ({
    outcome: o,
    count: buckets.reduce((sum, b) => sum + b.counts[o], 0),
  })).filter((o) => o.count > 0)
  const summary =
    `${total} entries from ${new Date(range.from).toISOString()} to ${new Date(range.to).toISOString()}` +
    (byOutcome.length > 0 ? `: ${byOutcome.map((o) => `${o.count} ${o.outcome}`).join(', ')}` : '')
  return (
    <figure class="chart" aria-labelledby="chart-caption">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-labelledby="chart-title chart-desc"
        xmlns="http://www.w3.org/2000/svg"
      >
        <title id="chart-title">Audit activity by outcome</title>
        <desc id="chart-desc">{summary}</desc>
        <line
          class="axis"
          x1={PLOT.left}
          y1={PLOT.top + plotHeight}
          x2={WIDTH - PLOT.right}
          y2={PLOT.top + plotHeight}
        />
        <line class="axis" x1={PLOT.left} y1={PLOT.top} x2={PLOT.left} y2={PLOT.top + plotHeight} />
        <text x={PLOT.left - 4} y={PLOT.top + 8} text-anchor="end">
          {max}
        </text>
        <text x={PLOT.left - 4} y={PLOT.top + plotHeight} text-anchor="end">
          0
        </text>
        {buckets.map((bucket, i) => {
          let stacked = 0
          const x = PLOT.left + i * barWidth + 1
          return (
            <g>
              <title>{`${label(bucket.from, span)} – ${label(bucket.to, span)}: ${bucket.total} (${OUTCOME_CLASSES.filter(
                (o) => bucket.counts[o] > 0,
              )
                .map((o) => `${bucket.counts[o]} ${o}`)
                .join(', ')})`}</title>
              {OUTCOME_CLASSES.filter((o) => bucket.counts[o] > 0).map((o) => {
                const height = y(bucket.counts[o])
                stacked += height
                return (
                  <rect
                    class={`o-${o}`}
                    x={x.toFixed(1)}
                    y={(PLOT.top + plotHeight - stacked).toFixed(1)}
                    width={Math.max(1, barWidth - 2).toFixed(1)}
                    height={height.toFixed(1)}
                  />
                )
              })}
            </g>
          )
        })}
        <text x={PLOT.left} y={HEIGHT - 8}>
          {label(range.from, span)}
        </text>
        <text x={WIDTH - PLOT.right} y={HEIGHT - 8} text-anchor="end">
          {label(range.to, span)}
        </text>
      </svg>
      <figcaption id="chart-caption">
        <ul class="legend">
          {OUTCOME_CLASSES.map((o) => (
            <li>
              <span class={`swatch o-${o}`} aria-hidden="true"></span>
              {o}
            </li>
          ))}
        </ul>
        {summary}.{props.note ? ` ${props.note}` : ''}
      </figcaption>
      <details>
        <summary>The chart's numbers</summary>
        <TableRegion label="Chart data">
          <table>
            <thead>
              <tr>
                <th scope="col">From (UTC)</th>
                {OUTCOME_CLASSES.map((o) => (
                  <th scope="col">{o}</th>
                ))}
                <th scope="col">total</th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr>
                  <th scope="row">
                    {new Date(b.from).toISOString().slice(0, 16).replace('T', ' ')}
                  </th>
                  {OUTCOME_CLASSES.map((o) => (
                    <td>{b.counts[o]}</td>
                  ))}
                  <td>{b.total}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      </details>
    </figure>
  )
}
