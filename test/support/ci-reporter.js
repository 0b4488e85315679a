// Mocha's spec reporter, plus a machine-readable summary: when MOCHA_STATS_FILE is set, the run's
// counts (passes, failures, pending) are written there as JSON for .ci/run to print.
'use strict'
const fs = require('fs')
const Mocha = require('mocha')

class CiReporter extends Mocha.reporters.Spec {
  constructor (runner, options) {
    super(runner, options)
    runner.once('end', () => {
      const file = process.env.MOCHA_STATS_FILE
      if (!file) return
      const { passes, failures, pending, tests, duration } = this.stats
      fs.writeFileSync(file, JSON.stringify({ passes, failures, pending, tests, duration }))
    })
  }
}

module.exports = CiReporter
