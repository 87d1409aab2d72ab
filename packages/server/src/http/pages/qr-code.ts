import QRCode from 'qrcode';
import { html, type SafeHtml } from './html.js';

/** The quiet zone around a QR code, in modules (ISO/IEC 18004 asks for four). */
const QUIET_ZONE = 4;

/**
 * `text` as an inline SVG QR code, for pages whose CSP allows no scripts, styles or images: the
 * `qrcode` library encodes, and each dark module becomes one unit square of a single path.
 */
export function qrCodeSvg(text: string, label: string): SafeHtml {
  const { size, data } = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
  let path = '';
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      if (data[row * size + column]) path += `M${column + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`;
    }
  }
  const extent = size + 2 * QUIET_ZONE;
  return html`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${label}" viewBox="0 0 ${extent} ${extent}" width="${extent * 5}" height="${extent * 5}" shape-rendering="crispEdges"><rect width="${extent}" height="${extent}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`;
}
