/**
 * The element's styles, inside its shadow root: nothing of the host page's stylesheet reaches
 * them (`all: initial` on the host also stops inherited fonts and colours), and nothing here
 * reaches the host page. Sites theme it only through these custom properties, which do
 * inherit: `--tabswarm-accent`, `--tabswarm-accent-text`, `--tabswarm-bg`, `--tabswarm-fg`,
 * `--tabswarm-font`, `--tabswarm-radius`.
 */
export const WIDGET_STYLE = `:host{all:initial;display:block;box-sizing:border-box;max-width:30rem;padding:12px 14px;font:14px/1.45 var(--tabswarm-font,system-ui,sans-serif);color:var(--tabswarm-fg,#1c1c21);background:var(--tabswarm-bg,#fff);border:1px solid color-mix(in srgb,currentColor 25%,transparent);border-radius:var(--tabswarm-radius,8px)}
:host([hidden]){display:none}
p{margin:0 0 8px}
.row{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
button{font:inherit;font-weight:600;color:var(--tabswarm-accent-text,#fff);background:var(--tabswarm-accent,#2457c5);border:0;border-radius:var(--tabswarm-radius,8px);padding:6px 14px;cursor:pointer;margin:0}
button.quiet{color:inherit;background:transparent;box-shadow:inset 0 0 0 1px currentColor}
button:focus-visible{outline:2px solid var(--tabswarm-accent,#2457c5);outline-offset:2px}
button:disabled{opacity:.55;cursor:default}
code,input{font:12px ui-monospace,monospace;word-break:break-all}
input{width:100%;box-sizing:border-box;margin-top:6px;padding:4px;color:inherit;background:transparent;border:1px solid currentColor}
.note{font-size:12px;opacity:.85}
[hidden]{display:none!important}`
