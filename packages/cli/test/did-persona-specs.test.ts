import { describe, expect, it } from 'vitest';
import { parseDuration, parseKeySpec, parseService } from '../src/persona/specs.js';

describe('did:persona option values', () => {
  it('reads recovery delays with units, within 1 hour to 1 year', () => {
    expect(parseDuration('3600')).toBe(3600);
    expect(parseDuration('90m')).toBe(5400);
    expect(parseDuration('36h')).toBe(129_600);
    expect(parseDuration('7d')).toBe(604_800);
    expect(parseDuration('2w')).toBe(1_209_600);
    expect(parseDuration('365d')).toBe(31_536_000);
    for (const bad of ['59m', '366d', '1y', '1.5h', '', 'h', '-1h']) {
      expect(() => parseDuration(bad), bad).toThrow('Expected a duration from 1h to 365d');
    }
  });

  it('reads key specs: a bare fragment, a key type to generate, or a public key', () => {
    expect(parseKeySpec('key-1')).toEqual({
      id: 'key-1',
      algorithm: 'Ed25519',
      relationships: ['authentication', 'assertionMethod'],
    });
    expect(
      parseKeySpec('id=pq,algorithm=ML-DSA-65,relationships=capabilityInvocation+authentication'),
    ).toEqual({
      id: 'pq',
      algorithm: 'ML-DSA-65',
      relationships: ['authentication', 'capabilityInvocation'],
    });
    expect(parseKeySpec('id=p521,algorithm=P-521,relationships=assertionMethod')).toEqual({
      id: 'p521',
      algorithm: 'P-521',
      relationships: ['assertionMethod'],
    });
    expect(parseKeySpec('id=ext,publicKey=z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK')).toMatchObject({
      id: 'ext',
      publicKeyMultibase: 'z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    });
    expect(() => parseKeySpec('id=a,algorithm=RSA')).toThrow('algorithm must be one of');
    expect(() => parseKeySpec('id=a,relationships=signing')).toThrow('relationships are');
    expect(() => parseKeySpec('id=a,algorithm=Ed25519,publicKey=z6Mk')).toThrow('not both');
    expect(() => parseKeySpec('id=a,colour=red')).toThrow('Expected an id of 1 to 64 characters');
    expect(() => parseKeySpec('colour=red')).toThrow('Expected id=…,algorithm=…');
    expect(() => parseKeySpec('key#1')).toThrow('Expected an id of 1 to 64 characters');
  });

  it('reads services, whose endpoints may contain commas', () => {
    expect(parseService('id=hub,type=PersonaHub,endpoint=https://hub.example.com/a,b?x=1')).toEqual({
      id: 'hub',
      type: 'PersonaHub',
      serviceEndpoint: 'https://hub.example.com/a,b?x=1',
    });
    expect(() => parseService('id=hub,type=PersonaHub')).toThrow(
      'Expected id=<fragment>,type=<type>,endpoint=<URI>',
    );
    expect(() => parseService('id=a,id=b,type=t,endpoint=https://x/')).toThrow('id= is given twice');
  });
});
