// The demo web app's three pages. Every value is escaped; nothing here runs
// script, so the app's CSP can forbid it.

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Latchkey demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2433; }
  main { max-width: 46rem; margin: 3rem auto; background: #fff; padding: 2rem 2.5rem; border-radius: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
  h1 { margin-top: 0; font-size: 1.6rem; }
  h2 { font-size: 1.1rem; margin-top: 2rem; }
  .button { display: inline-block; background: #2d5bd3; color: #fff; padding: .7rem 1.4rem; border-radius: 8px; text-decoration: none; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; font-size: .92rem; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6ec; vertical-align: top; word-break: break-all; }
  th { width: 11rem; color: #56607a; font-weight: 500; }
  pre { background: #f4f5f7; padding: 1rem; border-radius: 8px; white-space: pre-wrap; word-break: break-word; font-size: .9rem; }
  .status { font-weight: 600; }
  .ok { color: #16794c; } .refused { color: #b42318; }
  .muted { color: #56607a; font-size: .9rem; }
</style>
</head>
<body><main>
${body}
</main></body>
</html>`;
}

export function homePage(options: { issuer: string }): string {
  return layout(
    'Welcome',
    `<h1>Latchkey demo app</h1>
<p>This app knows nobody. Sign in with your Latchkey account: the app receives an ID token saying who you are, and an access token for the demo API.</p>
<p><a class="button" href="/login">Login with Latchkey</a></p>
<p class="muted">Issuer: ${escapeHtml(options.issuer)}</p>`,
  );
}

function claimsTable(claims: Record<string, unknown>): string {
  const rows = Object.entries(claims).map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(typeof value === 'string' ? value : JSON.stringify(value))}</td></tr>`);
  return `<table>${rows.join('\n')}</table>`;
}

export function signedInPage(options: { idTokenClaims: Record<string, unknown>; api: { url: string; status: number; body: unknown } }): string {
  const { idTokenClaims, api } = options;
  const name = idTokenClaims.name ?? idTokenClaims.email ?? idTokenClaims.sub;
  const ok = api.status >= 200 && api.status < 300;
  return layout(
    'Signed in',
    `<h1>Signed in as ${escapeHtml(name)}</h1>
<h2>ID token claims</h2>
${claimsTable(idTokenClaims)}
<h2>The demo API’s answer</h2>
<p>GET ${escapeHtml(api.url)} with the access token → <span class="status ${ok ? 'ok' : 'refused'}" id="api-status">${escapeHtml(api.status)}</span></p>
<pre id="api-answer">${escapeHtml(JSON.stringify(api.body, null, 2))}</pre>
<p><a href="/">Start again</a></p>`,
  );
}

export function errorPage(message: string): string {
  return layout('Sign-in failed', `<h1>Sign-in did not complete</h1>\n<p>${escapeHtml(message)}</p>\n<p><a class="button" href="/">Back</a></p>`);
}
