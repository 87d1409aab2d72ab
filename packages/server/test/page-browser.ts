import { expect } from 'vitest';

/** Page-driving helpers of the tests: a browser without JavaScript and assertions on where it stopped. */

export function unescapeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/** Where a navigation stopped: at the RP (a redirect leaving the server) or on a page of ours. */
export type Stop =
  | { kind: 'rp'; url: URL }
  | { kind: 'page'; status: number; html: string; headers: Headers; url: string };

/**
 * A browser without JavaScript: a cookie jar (names only: paths are ignored, which also sends every
 * cookie everywhere, a harsher setting for isolation tests), redirects followed by hand, forms posted.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** The client address the server is told (X-Forwarded-For), when set. */
  forwardedFor: string | undefined;
  /** Every request made, as `METHOD path`, oldest first. */
  readonly visited: string[] = [];

  constructor(private readonly origin: string) {}

  private async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.forwardedFor) headers.set('x-forwarded-for', this.forwardedFor);
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    this.visited.push(`${init.method ?? 'GET'} ${new URL(url).pathname}`);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = cookie.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key = '', val = ''] = attribute.trim().split('=');
        return (
          (key.toLowerCase() === 'max-age' && Number(val) <= 0) ||
          (key.toLowerCase() === 'expires' && Date.parse(val) < Date.now())
        );
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  async navigate(url: string, init?: RequestInit): Promise<Stop> {
    let response = await this.request(url, init);
    let current = url;
    for (let hops = 0; hops < 20; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        return {
          kind: 'page',
          status: response.status,
          html: await response.text(),
          headers: response.headers,
          url: current,
        };
      }
      const next = new URL(location, current);
      if (next.origin !== this.origin) return { kind: 'rp', url: next };
      current = next.href;
      response = await this.request(current);
    }
    throw new Error('redirect loop');
  }

  /**
   * Posts a form of the page with its hidden fields plus `fields`: the first form, or the first whose
   * action ends with `actionSuffix` (and, given `hidden`, has these hidden values).
   */
  submit(
    page: Stop,
    fields: Record<string, string>,
    actionSuffix?: string,
    hidden: Record<string, string> = {},
  ): Promise<Stop> {
    if (page.kind !== 'page') throw new Error('not a page');
    const forms = [...page.html.matchAll(/<form [^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
    const chosen = forms.find(
      ([, action = '', inner = '']) =>
        (actionSuffix === undefined || unescapeHtml(action).endsWith(actionSuffix)) &&
        Object.entries(hidden).every(([name, value]) => inner.includes(`name="${name}" value="${value}"`)),
    );
    const action = chosen?.[1];
    if (!chosen || !action) throw new Error(`no form ${actionSuffix ?? ''} in ${page.html}`);
    const body = new URLSearchParams();
    for (const match of (chosen[2] ?? '').matchAll(
      /<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g,
    )) {
      body.set(match[1] as string, unescapeHtml(match[2] as string));
    }
    for (const [name, value] of Object.entries(fields)) body.set(name, value);
    return this.navigate(new URL(unescapeHtml(action), page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
  }
}

export function expectPage(
  stop: Stop,
  title: string,
  status = 200,
): asserts stop is Extract<Stop, { kind: 'page' }> {
  expect(stop.kind).toBe('page');
  if (stop.kind !== 'page') return;
  expect(stop.status).toBe(status);
  expect(stop.html).toContain(`<h1>${title}</h1>`);
}

export function expectRp(stop: Stop): URL {
  expect(stop.kind).toBe('rp');
  if (stop.kind !== 'rp') throw new Error(`stopped on a page: ${stop.html}`);
  return stop.url;
}
