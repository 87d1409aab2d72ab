import type { KoaContextWithOIDC } from 'oidc-provider';
import { document, PAGE_HEADERS, type Page } from '../../../http/pages/html.js';

/** Answers a provider-rendered page (logout, device flow) from inside oidc-provider's Koa context. */
export function sendPage(ctx: KoaContextWithOIDC, page: Page): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) ctx.set(name, value);
  ctx.status = page.status;
  ctx.body = document(page);
}
