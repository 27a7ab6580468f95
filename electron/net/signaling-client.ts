/**
 * A WebSocket connection to the relay, speaking protocol/signaling.ts.
 * Everything the relay says is validated: the relay is not trusted.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import { SIGNALING_VERSION, parseRelayMessage, type ClientMessage, type IceServer, type RelayMessage } from '../../protocol/signaling.js';

export interface SignalingEvents {
  message: [RelayMessage];
  close: [error?: PairmuxError];
}

export class SignalingClient extends EventEmitter<SignalingEvents> {
  private closed = false;

  private constructor(private readonly ws: WebSocket, readonly url: string) {
    super();
    ws.on('message', (raw, isBinary) => {
      if (isBinary) return;
      let msg: RelayMessage;
      try {
        msg = parseRelayMessage(raw.toString());
      } catch {
        return; // an invalid relay message is ignored; the handshake times out if it matters
      }
      this.emit('message', msg);
    });
    ws.on('close', (code, reason) => {
      this.closed = true;
      const r = reason.toString();
      this.emit('close', code === 1000 ? undefined : new PairmuxError((r.startsWith('E_') ? r : ErrorCode.Disconnected) as ErrorCode, `relay closed the connection (${code}${r ? ' ' + r : ''})`));
    });
    ws.on('error', () => {});
  }

  static connect(url: string, timeoutMs = 10_000): Promise<SignalingClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, maxPayload: 1024 * 1024 });
      const onError = (e: Error) => {
        ws.terminate();
        reject(new PairmuxError(ErrorCode.RelayUnreachable, `cannot reach the relay at ${url}: ${e.message}`));
      };
      ws.once('error', onError);
      ws.once('open', () => {
        ws.off('error', onError);
        resolve(new SignalingClient(ws, url));
      });
    });
  }

  send(msg: ClientMessage): void {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Wait for the first message matching `pred`; a relay error message rejects. */
  waitFor<T extends RelayMessage>(pred: (m: RelayMessage) => m is T, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.off('message', onMsg);
        this.off('close', onClose);
        fn();
      };
      const onMsg = (m: RelayMessage) => {
        if (m.t === 'error') done(() => reject(new PairmuxError(m.code, m.message)));
        else if (pred(m)) done(() => resolve(m));
      };
      const onClose = (e?: PairmuxError) => done(() => reject(e ?? new PairmuxError(ErrorCode.Disconnected, 'relay closed the connection')));
      const timer = setTimeout(() => done(() => reject(new PairmuxError(ErrorCode.RelayUnreachable, 'the relay did not answer in time'))), timeoutMs);
      this.on('message', onMsg);
      this.on('close', onClose);
    });
  }

  async host(room: string): Promise<IceServer[]> {
    this.send({ t: 'host', v: SIGNALING_VERSION, room });
    const m = await this.waitFor((x): x is Extract<RelayMessage, { t: 'hosted' }> => x.t === 'hosted');
    return m.iceServers;
  }

  async join(room: string): Promise<{ peer: string; iceServers: IceServer[] }> {
    this.send({ t: 'join', v: SIGNALING_VERSION, room });
    const m = await this.waitFor((x): x is Extract<RelayMessage, { t: 'joined' }> => x.t === 'joined');
    return { peer: m.peer, iceServers: m.iceServers };
  }

  /** Close; resolves once the relay has the close (bounded wait, so a dead relay cannot hang us). */
  close(): Promise<void> {
    this.closed = true;
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 2000);
      t.unref();
      this.ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.ws.close(1000);
    });
  }
}
