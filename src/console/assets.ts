/**
 * The console's static files: one stylesheet and an icon, served from the Worker itself (no CDN,
 * nothing fetched from elsewhere). Their paths carry a version, so they can be cached for a day
 * and a change is picked up at once.
 *
 * Colours are chosen for contrast (WCAG AA or better against their background); state is never
 * told by colour alone (badges carry words). Small screens get one column and tables that scroll
 * sideways inside their own region.
 */
const ASSET_VERSION = 'v3'
export const STYLESHEET_PATH = `/console/assets/console-${ASSET_VERSION}.css`
export const ICON_PATH = `/console/assets/icon-${ASSET_VERSION}.svg`

export const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d3f72"/><path d="M9 15v-3a7 7 0 0 1 14 0v3" fill="none" stroke="#fff" stroke-width="3"/><rect x="7" y="15" width="18" height="12" rx="2" fill="#fff"/></svg>`

export const STYLESHEET = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #4a4f57; --line: #c9ced6; --page: #ffffff;
  --panel: #f3f5f8; --accent: #1d3f72; --accent-ink: #ffffff; --focus: #b3541e;
  --bad: #8a1c1c; --bad-bg: #fde8e8; --warn: #6b4500; --warn-bg: #fff1d6; --good: #1e5a2d;
  --good-bg: #e3f4e6; --info: #1d3f72; --info-bg: #e6eefb; }
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 100%;
  line-height: 1.5; color: var(--ink); background: var(--page); }
body { margin: 0; }
a { color: var(--accent); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -10000px; top: 0; }
.skip:focus { left: 0.5rem; top: 0.5rem; background: var(--page); padding: 0.5rem; z-index: 2; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
header.top { background: var(--accent); color: var(--accent-ink); padding: 0.5rem 1rem; }
header.top a, header.top .who { color: var(--accent-ink); }
.brand { font-weight: 700; margin-right: 1rem; text-decoration: none; }
nav.main ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; }
nav.main a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
.bar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem; justify-content: space-between; }
.who { font-size: 0.9rem; }
.who form { display: inline; }
main { padding: 1rem; max-width: 80rem; margin: 0 auto; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 0.5rem; }
p.lead { color: var(--muted); margin-top: -0.5rem; }
button, .button { font: inherit; padding: 0.4rem 0.9rem; border-radius: 0.3rem; border: 1px solid var(--accent);
  background: var(--accent); color: var(--accent-ink); cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: var(--page); color: var(--accent); }
header.top button { background: transparent; color: var(--accent-ink); border-color: var(--accent-ink); padding: 0.1rem 0.6rem; }
input, select { font: inherit; padding: 0.35rem 0.5rem; border: 1px solid #767d87; border-radius: 0.25rem;
  background: var(--page); color: var(--ink); max-width: 100%; }
label { display: block; font-weight: 600; font-size: 0.9rem; margin-bottom: 0.15rem; }
.hint { color: var(--muted); font-size: 0.85rem; font-weight: 400; }
form.filters { background: var(--panel); border: 1px solid var(--line); border-radius: 0.4rem; padding: 0.75rem; }
.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 0.75rem; }
.fields input, .fields select { width: 100%; }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin-top: 0.75rem; align-items: center; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 0.4rem; padding: 0.75rem 1rem; }
.notice { border-left: 4px solid var(--info); background: var(--info-bg); padding: 0.5rem 0.75rem; margin: 0.75rem 0; }
.notice.bad { border-color: var(--bad); background: var(--bad-bg); }
.notice.good { border-color: var(--good); background: var(--good-bg); }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 0.4rem; margin: 0.5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
caption { text-align: left; padding: 0.5rem 0.75rem; font-weight: 600; }
th, td { text-align: left; padding: 0.4rem 0.75rem; border-top: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--panel); white-space: nowrap; }
tr.denied td, tr.failed td { background: var(--bad-bg); }
tr.expiring td { background: var(--warn-bg); }
tr.expired td { background: var(--bad-bg); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; word-break: break-all; }
.badge { display: inline-block; padding: 0 0.45rem; border-radius: 0.8rem; font-size: 0.8rem; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.good { color: var(--good); background: var(--good-bg); }
.badge.info { color: var(--info); background: var(--info-bg); }
.table-wrap { position: relative; }
header.top :focus-visible { outline-color: #ffd166; }
textarea { font: inherit; width: 100%; max-width: 40rem; padding: 0.35rem 0.5rem; border: 1px solid #767d87; border-radius: 0.25rem; display: block; margin-bottom: 0.5rem; }
button.danger { background: var(--bad); border-color: var(--bad); }
section form + form { margin-top: 1.25rem; }
.reason { font-style: italic; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: 0.3rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.chart svg { width: 100%; height: auto; max-height: 18rem; display: block; }
.chart .axis { stroke: #767d87; }
.chart text { font-size: 11px; fill: var(--ink); }
.legend { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; list-style: none; padding: 0; margin: 0.25rem 0; font-size: 0.85rem; }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem; vertical-align: -0.1rem; border: 1px solid #555; }
.o-allowed { fill: #2f7d3e; background: #2f7d3e; } .o-denied { fill: #b42323; background: #b42323; }
.o-invalid { fill: #c07a00; background: #c07a00; } .o-unauthenticated { fill: #6a3fa0; background: #6a3fa0; }
.o-upstream_error { fill: #222222; background: #222222; } .o-gateway_error { fill: #7a7f87; background: #7a7f87; }
.o-pending { fill: #2b6cb0; background: #2b6cb0; } .o-parked { fill: #8a5a00; background: #8a5a00; }
.inline-form { display: flex; flex-wrap: wrap; gap: 0.4rem; align-items: end; }
.inline-form label { margin: 0; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 0.4rem; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
.op { border-top: 1px solid var(--line); padding-top: 0.5rem; }
.method { font-family: ui-monospace, monospace; font-weight: 700; text-transform: uppercase; }
.sign-in { max-width: 28rem; margin: 2rem auto; }
.sign-in input { width: 100%; }
@media (max-width: 40rem) {
  main { padding: 0.75rem; }
  h1 { font-size: 1.35rem; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: 0.4rem; }
}
/* control-console (issue 20): the members page's role checkboxes, one per line beside their name. */
fieldset.roles label { display: flex; gap: 0.4rem; align-items: center; font-weight: 400; }
.fields fieldset.roles input { width: auto; }
/* review-console (issue 22): a marked row is marked across, its heading cell included. */
tr.expiring th { background: var(--warn-bg); }
tr.expired th, tr.denied th, tr.failed th { background: var(--bad-bg); }
`
