import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';
import { qrCodeSvg } from '../src/http/pages/qr-code.js';

/** Rasterizes the SVG the pages show (its unit squares) at `scale` pixels per module, as RGBA. */
function rasterize(svg: string, scale: number) {
  const extent = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1]);
  const width = extent * scale;
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255);
  const path = /<path d="([^"]*)"/.exec(svg)?.[1] ?? '';
  for (const [, x, y] of path.matchAll(/M(\d+) (\d+)h1v1h-1z/g)) {
    for (let dy = 0; dy < scale; dy++) {
      for (let dx = 0; dx < scale; dx++) {
        const offset = ((Number(y) * scale + dy) * width + Number(x) * scale + dx) * 4;
        pixels.fill(0, offset, offset + 3);
      }
    }
  }
  return { pixels, width };
}

describe('QR codes on the enrollment pages', () => {
  it('scan back to the otpauth:// URI they were made from', () => {
    const uri =
      'otpauth://totp/PersonaChain:alice%40example.com?issuer=PersonaChain&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30';
    const svg = qrCodeSvg(uri, 'QR code').value;
    const { pixels, width } = rasterize(svg, 4);
    expect(jsQR(pixels, width, width)?.data).toBe(uri);
  });

  it('are inline SVG without scripts or styles (the pages CSP is default-src none) and escape the label', () => {
    const svg = qrCodeSvg('otpauth://totp/x?secret=AAAA', 'Scan <this> & "that"').value;
    expect(svg).toMatch(/^<svg [^>]*role="img"/);
    expect(svg).toContain('aria-label="Scan &lt;this&gt; &amp; &quot;that&quot;"');
    expect(svg).not.toMatch(/<script|style=|<style|href=/);
  });
});
