// Worker thread of issueBatch: the first message sets up the CA's certificate builder; each
// later message is a job answered with one outcome per item; it says when it is ready for
// jobs. No ledger access here.
import { parentPort } from "node:worker_threads";
import type { WorkerJob, WorkerReady, WorkerReply, WorkerSetup } from "./batch.js";
import { prepareBatchItem } from "./batch.js";
import { DeviceCertificateTemplate } from "./certificate-template.js";
import { SerialNumbers } from "./serial.js";
import { nodeKeySigner } from "./signer.js";

const port = parentPort!;
port.once("message", (setup: WorkerSetup) => {
  let now = Date.now();
  const builder = {
    info: setup.info,
    template: new DeviceCertificateTemplate(setup.ca),
    signer: nodeKeySigner(setup.privateKey),
    serials: new SerialNumbers(),
    clock: () => new Date(now), // the issuing thread's clock, sent with each job
  };
  port.on("message", async (job: WorkerJob) => {
    now = job.now;
    const outcomes = [];
    for (const item of job.items)
      outcomes.push(await prepareBatchItem(builder, item, setup.options));
    const reply: WorkerReply = { start: job.start, outcomes };
    port.postMessage(reply);
  });
  const ready: WorkerReady = { ready: true };
  port.postMessage(ready);
});
