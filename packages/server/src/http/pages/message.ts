import { html, type Page } from './html.js';

/** A page with one message and nothing to do. */
export function messagePage(status: number, title: string, message: string): Page {
  return { status, title, body: html`<p>${message}</p>` };
}
