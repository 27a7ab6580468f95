/**
 * The WebRTC implementation simple-peer runs on in Node and in Electron's
 * main process: node-datachannel's RTCPeerConnection polyfill (libdatachannel,
 * N-API). Measured here: connect ~20 ms, round trip p50 ~0.3 ms, 57-73 MB/s,
 * and a native `bufferedamountlow` event; @roamhq/wrtc was slower (43-60 MB/s)
 * and lacks that event.
 */
import * as polyfill from 'node-datachannel/polyfill';

type Init = { type: RTCSdpType; sdp: string };

/**
 * simple-peer assigns to `offer.sdp` (to munge it) and the polyfill returns a
 * read-only description, so hand simple-peer plain objects instead.
 */
class PlainDescriptionPeerConnection extends polyfill.RTCPeerConnection {
  override async createOffer(): Promise<Init> {
    const d = await super.createOffer();
    return { type: d.type, sdp: d.sdp };
  }
  override async createAnswer(): Promise<Init> {
    const d = await super.createAnswer();
    return { type: d.type, sdp: d.sdp };
  }
}

export const wrtc = {
  RTCPeerConnection: PlainDescriptionPeerConnection,
  RTCSessionDescription: polyfill.RTCSessionDescription,
  RTCIceCandidate: polyfill.RTCIceCandidate,
} as unknown as { RTCPeerConnection: typeof RTCPeerConnection; RTCSessionDescription: typeof RTCSessionDescription; RTCIceCandidate: typeof RTCIceCandidate };
