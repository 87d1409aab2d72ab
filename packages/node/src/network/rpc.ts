import { randomBytes } from 'node:crypto';
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { LengthPrefixedDecoder, lpStream } from '@libp2p/utils';
import { toBase64Url } from '@personachain/crypto';
// The unsigned LEB128 length prefix of libp2p's length-prefixed streams, from the library they use.
import { encode as varint } from 'uint8-varint';
import {
  decodeEnvelope,
  decodeResponse,
  type Envelope,
  encodeFrame,
  encodeRequest,
  MAX_FRAME_BYTES,
  REPLICATION_PROTOCOL,
  type Request,
  type Response,
  responseTo,
} from './protocol.js';

type ResponseOf<Op extends Request['op']> = Extract<Response, { op: Op }>;

/** The peer answered, but refused the request (wrong enclave, not a member, replayed, malformed). */
export class PeerRefusedError extends Error {
  override name = 'PeerRefusedError';
}

/**
 * Envelope ids only need to be unique per sender (the replay guard keys them by peer): a random
 * per-process prefix plus a counter, so a restarted node never reuses an id within the window.
 */
const ID_PREFIX = toBase64Url(randomBytes(9));
let idCounter = 0;

function envelopeFor(enclave: string, body: Request): Envelope {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return { id: `${ID_PREFIX}.${idCounter.toString(36)}`, ts: Date.now(), enclave, body };
}

function unwrap<Op extends Request['op']>(response: Response): ResponseOf<Op> {
  if (response.op === 'error') throw new PeerRefusedError(response.error);
  return response as ResponseOf<Op>;
}

/** Sends one request on a fresh stream and reads its response (one-off exchanges, tests). */
export async function call<Op extends Request['op']>(
  node: Libp2p,
  peer: PeerId,
  enclave: string,
  body: Request & { op: Op },
  timeoutMs: number,
): Promise<ResponseOf<Op>> {
  const signal = AbortSignal.timeout(timeoutMs);
  const stream = await node.dialProtocol(peer, REPLICATION_PROTOCOL, { signal });
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    await lp.write(encodeRequest(envelopeFor(enclave, body)), { signal });
    const frame = await lp.read({ signal });
    const response = unwrap<Op>(decodeResponse(frame.subarray(), body.op));
    await stream.close({ signal }).catch(() => undefined);
    return response;
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

/** Frames queued for one stream beyond which the stream is dropped (a few maximal frames). */
const MAX_QUEUED_BYTES = 4 * MAX_FRAME_BYTES;

/**
 * Length-prefixed frames over one stream, event driven in both directions.
 *
 * Reading: every 'message' chunk goes through one decoder that yields all complete frames, instead of
 * an async read per length byte. Writing: frames written in the same event-loop turn are coalesced
 * into a single send — under load many requests (and responses) to one peer are produced per turn, and
 * one yamux frame, one noise frame and one socket write for all of them instead of one each is most of
 * the replication cost. When the stream asks for a drain, frames queue until it comes.
 */
class FramedStream {
  private frames: Uint8Array[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private blocked = false;
  private readonly decoder = new LengthPrefixedDecoder({
    maxDataLength: MAX_FRAME_BYTES,
    maxBufferSize: 2 * MAX_FRAME_BYTES,
  });

  constructor(
    readonly stream: Stream,
    onFrame: (frame: Uint8Array) => void,
    onClose: (error: Error | undefined) => void,
  ) {
    stream.addEventListener('message', (evt) => {
      try {
        for (const frame of this.decoder.decode(evt.data)) onFrame(frame.subarray());
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)));
      }
    });
    stream.addEventListener('close', (evt) => onClose(evt.error));
    stream.addEventListener('drain', () => {
      this.blocked = false;
      this.flush();
    });
  }

  write(frame: Uint8Array): void {
    this.queuedBytes += frame.byteLength;
    // A peer that stops reading while sending requests would make the answers pile up here.
    if (this.queuedBytes > MAX_QUEUED_BYTES) {
      this.frames = [];
      this.queuedBytes = 0;
      this.stream.abort(new Error('peer is not reading; write queue over limit'));
      return;
    }
    this.frames.push(frame);
    if (this.scheduled || this.blocked) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** True when nothing is queued or scheduled (all frames handed to the stream). */
  get idle(): boolean {
    return this.frames.length === 0 && !this.scheduled;
  }

  private flush(): void {
    if (this.blocked || this.frames.length === 0) return;
    const frames = this.frames;
    this.frames = [];
    this.queuedBytes = 0;
    if (this.stream.status !== 'open') return;
    const parts: Uint8Array[] = [];
    for (const frame of frames) parts.push(varint(frame.byteLength), frame);
    try {
      if (!this.stream.send(Buffer.concat(parts))) this.blocked = true;
    } catch (err) {
      this.stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

interface Pending {
  readonly op: Request['op'];
  readonly resolve: (response: Response) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One long-lived stream to a peer carrying many concurrent requests, matched to responses by envelope
 * id. Opening a yamux stream costs a multistream-select round trip and several frames each way, which
 * dominated replication cost when every request used its own stream.
 */
class PeerChannel {
  private framed: FramedStream | undefined;
  private opening: Promise<FramedStream> | undefined;
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly node: Libp2p,
    private readonly peer: PeerId,
    private readonly openTimeoutMs: number,
  ) {}

  async request(envelope: Envelope, timeoutMs: number): Promise<Response> {
    const framed = this.framed ?? (await this.open());
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.id);
        reject(new Error(`${envelope.body.op} to ${this.peer.toString()} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(envelope.id, { op: envelope.body.op, resolve, reject, timer });
      framed.write(encodeRequest(envelope));
    });
  }

  close(): void {
    this.fail(new Error('channel closed'));
  }

  private open(): Promise<FramedStream> {
    this.opening ??= (async () => {
      try {
        const stream = await this.node.dialProtocol(this.peer, REPLICATION_PROTOCOL, {
          signal: AbortSignal.timeout(this.openTimeoutMs),
        });
        const framed: FramedStream = new FramedStream(
          stream,
          (frame) => this.onResponse(frame),
          (error) => {
            if (this.framed === framed) this.fail(error ?? new Error('stream closed'));
          },
        );
        this.framed = framed;
        return framed;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  private onResponse(frame: Uint8Array): void {
    let parsed: ReturnType<typeof responseTo>;
    try {
      parsed = responseTo(frame);
    } catch {
      return; // an unparsable answer leaves its request to time out
    }
    const { re } = parsed;
    const pending = re === undefined ? undefined : this.pending.get(re);
    if (!pending || re === undefined) return;
    this.pending.delete(re);
    clearTimeout(pending.timer);
    try {
      pending.resolve(decodeResponse(parsed.parsed, pending.op));
    } catch (err) {
      pending.reject(err as Error);
    }
  }

  /** The stream is unusable: fail what waits on it; the next request opens a new one. */
  private fail(err: unknown): void {
    const framed = this.framed;
    this.framed = undefined;
    const error = err instanceof Error ? err : new Error(String(err));
    if (framed && framed.stream.status === 'open') framed.stream.abort(error);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error);
      this.pending.delete(id);
    }
  }
}

/** Requests to peers over one multiplexed channel per peer. */
export class RpcClient {
  private readonly channels = new Map<string, PeerChannel>();

  constructor(
    private readonly node: Libp2p,
    private readonly enclave: string,
    private readonly openTimeoutMs: number,
  ) {}

  async call<Op extends Request['op']>(
    peer: PeerId,
    body: Request & { op: Op },
    timeoutMs: number,
  ): Promise<ResponseOf<Op>> {
    const id = peer.toString();
    let channel = this.channels.get(id);
    if (!channel) {
      channel = new PeerChannel(this.node, peer, this.openTimeoutMs);
      this.channels.set(id, channel);
    }
    return unwrap<Op>(await channel.request(envelopeFor(this.enclave, body), timeoutMs));
  }

  /** Drops the channel to a peer (evicted, partitioned): its pending requests fail now. */
  drop(peer: string): void {
    this.channels.get(peer)?.close();
    this.channels.delete(peer);
  }

  closeAll(): void {
    for (const id of [...this.channels.keys()]) this.drop(id);
  }
}

export type RequestHandler = (envelope: Envelope, from: PeerId) => Promise<Response> | Response;

/**
 * Registers the protocol handler: answers every request frame on a stream with a frame tagged
 * `re: <envelope id>`, concurrently, until the peer closes its end; then closes ours once all answers
 * are written.
 */
export async function serve(node: Libp2p, handler: RequestHandler): Promise<void> {
  await node.handle(
    REPLICATION_PROTOCOL,
    (stream: Stream, connection: Connection) => {
      let inFlight = 0;
      let remoteDone = false;
      const maybeClose = (): void => {
        if (!remoteDone || inFlight > 0) return;
        if (!framed.idle) {
          setImmediate(maybeClose);
          return;
        }
        if (stream.status === 'open') stream.close().catch(() => undefined);
      };
      const answer = async (frame: Uint8Array): Promise<void> => {
        let re: string | undefined;
        let response: Response;
        try {
          const envelope = decodeEnvelope(frame);
          re = envelope.id;
          response = await handler(envelope, connection.remotePeer);
        } catch (err) {
          response = { op: 'error', error: err instanceof Error ? err.message.slice(0, 200) : 'error' };
        }
        framed.write(encodeFrame(re === undefined ? response : { ...response, re }));
      };
      const framed = new FramedStream(
        stream,
        (frame) => {
          inFlight++;
          void answer(frame).finally(() => {
            inFlight--;
            maybeClose();
          });
        },
        () => undefined,
      );
      stream.addEventListener('remoteCloseWrite', () => {
        remoteDone = true;
        maybeClose();
      });
    },
    { maxInboundStreams: 256, maxOutboundStreams: 256 },
  );
}
