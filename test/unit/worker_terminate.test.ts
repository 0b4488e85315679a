// Terminating a worker thread ends that worker only, whatever native call it was making (issue 13,
// item 1: worker.terminate() during infer() used to abort the whole process with SIGABRT from
// Napi::AsyncWorker::OnAsyncWorkComplete). The loops run in a child process so an abort fails
// this test instead of ending mocha.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');

describe('worker.terminate() during native calls', function () {
  this.timeout(300000);

  it('20 workers terminated mid-build, -deserialize, -infer, -calibrate and -save; the main thread keeps working', () => {
    const child = spawnSync(process.execPath, [path.join(__dirname, '..', 'support', 'terminate_child.js'), ROOT, '20'], {
      encoding: 'utf8',
      timeout: 280000,
    });
    assert.equal(child.signal, null, `the process was killed by ${child.signal}: ${child.stderr.slice(-2000)}`);
    assert.equal(child.status, 0, child.stderr.slice(-2000));
    const result = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
      loops: number;
      callsSeen: number;
      finishedBeforeTerminate: number;
      agree: boolean;
    };
    assert.equal(result.callsSeen, 20);
    assert.ok(result.finishedBeforeTerminate < 20, 'most calls must still be running when their worker is terminated');
    assert.equal(result.agree, true, 'the main thread gives the same answer as before');
  });
});
