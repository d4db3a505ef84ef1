// Jest reporter: after the run, lists the specs skipped because the server is too old (their
// titles carry the reason: see server-version.ts), so a run on an older release says what it
// did not cover.
const REASON = /\s*\[skipped: (.+)\]$/;

export default class SkipReporter {
  onRunComplete(_contexts, results) {
    const lines = [];
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (test.status !== 'pending') continue;
        const titles = [...test.ancestorTitles, test.title];
        const at = titles.findIndex((t) => REASON.test(t));
        if (at < 0) continue;
        const reason = REASON.exec(titles[at])[1];
        titles[at] = titles[at].replace(REASON, '').trim();
        lines.push(`  ${titles.join(' › ')}: ${reason}`);
      }
    }
    if (lines.length)
      process.stderr.write(`\nskipped for the server version:\n${lines.join('\n')}\n`);
  }
}
