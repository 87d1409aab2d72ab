/** Markup that is already safe: built by `html`, never from raw input. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

type Interpolated = SafeHtml | string | number | undefined | null | false | readonly Interpolated[];

function render(value: Interpolated): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped unless they are SafeHtml themselves. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

/**
 * A whole page: no styles and no inline code, so the platform's `default-src 'none'` CSP holds. Only a
 * page that needs JavaScript (passkeys: WebAuthn has no form-only path) names same-origin `scripts`,
 * and only such a page's CSP allows `script-src 'self'` and `connect-src 'self'`.
 */
export interface Page {
  status: number;
  title: string;
  body: SafeHtml;
  /** Seconds, for a page answering a lock-out (sent as Retry-After). */
  retryAfter?: number;
  /** Same-origin script paths, loaded deferred. */
  scripts?: readonly string[];
}

export function document(page: Page): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${page.title}</title>
${(page.scripts ?? []).map((src) => html`<script src="${src}" defer></script>\n`)}</head>
<body>
<main>
<h1>${page.title}</h1>
${page.body}
</main>
</body>
</html>
`.value;
}

/** A visible error a screen reader announces. */
export function errorMessage(message: string | undefined): SafeHtml {
  return message ? html`<p role="alert" id="error">${message}</p>` : html``;
}

/** The CSP of a page with same-origin scripts (which may call the platform's own API). */
export const SCRIPTED_PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/** Headers every page response carries, wherever it is served from. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // No referrer leaves the platform (interaction URLs stay private); same-origin requests keep their
  // Origin header, which the forms' cross-site check reads.
  'referrer-policy': 'same-origin',
} as const;
