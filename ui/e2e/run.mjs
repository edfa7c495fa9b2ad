// Runs the dashboard's browser tests against the real binary (BIFROST_BIN) in headless
// Chromium; exits non-zero when any test fails. `SCREENSHOTS_DIR=../assets/screenshots`
// refreshes the README's screenshots.
import * as auth from './auth.e2e.mjs';
import * as dashboard from './dashboard.e2e.mjs';
import * as logsOff from './logs-off.e2e.mjs';
import { launchBrowser, summary } from './lib.mjs';

const browser = await launchBrowser();
let ok = false;
try {
  await dashboard.run(browser);
  await auth.run(browser);
  await logsOff.run(browser);
  ok = summary();
} finally {
  await browser.close();
}
process.exit(ok ? 0 : 1);
