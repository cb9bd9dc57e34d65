// The live page's microphone tap: runs on the audio thread, turns the microphone into 40 ms
// frames of 16-bit mono PCM at 48 kHz (what the live path takes as it is) and their peak level.
// PCM rather than MediaRecorder's Opus: see README "Live from the phone" (latency).
"use strict";
const OUT_RATE = 48000;
const FRAME = 1920; // 40 ms at 48 kHz

class PcmSender extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / OUT_RATE; // 1 when the context runs at 48 kHz, as the page asks
    this.pos = 0; // where the next output sample lies in the input, in input samples
    this.prev = 0; // the last input sample of the previous block, for interpolation
    this.fresh();
  }

  fresh() {
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
    this.peak = 0;
  }

  push(v) {
    const x = Math.max(-1, Math.min(1, v));
    this.peak = Math.max(this.peak, Math.abs(x));
    this.frame[this.filled++] = x < 0 ? x * 32768 : x * 32767;
    if (this.filled === FRAME) {
      this.port.postMessage({ pcm: this.frame.buffer, peak: this.peak }, [this.frame.buffer]);
      this.fresh();
    }
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const x = channels[0];
    if (this.step === 1) {
      for (let i = 0; i < x.length; i++) this.push(x[i]);
      return true;
    }
    // another rate: linear interpolation (x[-1] is the previous block's last sample)
    while (this.pos < x.length - 1) {
      const i = Math.floor(this.pos);
      const f = this.pos - i;
      const a = i < 0 ? this.prev : x[i];
      this.push(a + (x[i + 1] - a) * f);
      this.pos += this.step;
    }
    this.pos -= x.length;
    this.prev = x[x.length - 1];
    return true;
  }
}

registerProcessor("pcm-sender", PcmSender);
