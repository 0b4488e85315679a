/**
 * createServer()'s option checks: every option of the wrong type or out of range is refused at
 * once with the package's argument error (TypeError / RangeError naming the option and what to
 * pass), before a port is bound or a model read.
 */
import { strict as assert } from 'assert';
import { createServer, type ServerOptions } from '../../lib/serve';

describe('serve: createServer options', () => {
  const ok: ServerOptions = { repository: '/nonexistent-repo' };
  const cases: Array<[string, unknown, 'TypeError' | 'RangeError', RegExp]> = [
    ['no options', undefined, 'TypeError', /Expected an options object for options but received undefined/],
    ['an array', [], 'TypeError', /Expected an options object for options/],
    ['no repository', {}, 'TypeError', /Expected a folder path for options\.repository but received undefined/],
    [
      'an unknown key',
      { ...ok, port: 80 },
      'RangeError',
      /'progressSeconds' or 'worker' for options\.port but received type string \("port"\)/,
    ],
    ['a port as a string', { ...ok, httpPort: '8000' }, 'TypeError', /Expected a port in \[0, 65535\] for options\.httpPort/],
    [
      'a port out of range',
      { ...ok, grpcPort: 70000 },
      'RangeError',
      /a port in \[0, 65535\] or false for options\.grpcPort but received type number \(70000\)/,
    ],
    ['httpPort false', { ...ok, httpPort: false }, 'TypeError', /options\.httpPort/],
    ['a model control mode', { ...ok, modelControl: 'poll' }, 'TypeError', /'none' or 'explicit' for options\.modelControl/],
    ['loadModels not strings', { ...ok, loadModels: [1] }, 'TypeError', /an array of model names for options\.loadModels/],
    ['a backend', { ...ok, backend: 'gpu' }, 'TypeError', /'auto', 'cpu', 'cuda' or 'tensorrt' for options\.backend/],
    ['gpus negative', { ...ok, gpus: [-1] }, 'TypeError', /an array of GPU indices for options\.gpus/],
    [
      'maxQueueSize 0',
      { ...ok, maxQueueSize: 0 },
      'RangeError',
      /a positive integer for options\.maxQueueSize but received type number \(0\)/,
    ],
    ['bodyLimit tiny', { ...ok, bodyLimit: 10 }, 'RangeError', /an integer >= 1024 for options\.bodyLimit/],
    ['a log level', { ...ok, logLevel: 'loud' }, 'TypeError', /'debug', 'info', 'warn', 'error' or 'silent' for options\.logLevel/],
    ['a logger', { ...ok, logger: 'console' }, 'TypeError', /a logger object .* for options\.logger/],
    ['progressSeconds', { ...ok, progressSeconds: 0.5 }, 'RangeError', /a positive integer for options\.progressSeconds/],
    ['a worker without a count', { ...ok, worker: { index: 0 } }, 'TypeError', /a positive integer for options\.worker\.count/],
  ];
  for (const [what, options, type, message] of cases) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => createServer(options as ServerOptions),
        (err: Error) => {
          assert.equal(err.constructor.name, type, err.message);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('accepts the defaults and false ports without binding anything', async () => {
    const s = createServer({ ...ok, grpcPort: false, metricsPort: false, logLevel: 'silent' });
    assert.equal(s.http.server.listening, false);
    await s.close();
  });
});
