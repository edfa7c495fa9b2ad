// A 404 from the API drives the "unavailable" state: with request logs turned off
// (client.enable_logging: false) /api/logs* answer 404, and Logs and Overview say so instead of
// showing empty data.
import { assert, call, openPage, startGateway, test } from './lib.mjs';

export async function run(browser) {
  const gw = await startGateway({ config: { client: { enable_logging: false } } });
  const page = await openPage(browser);
  const base = gw.url;
  try {
    await test('with request logs off, Logs and Overview show the 404 instead of empty data', async () => {
      const api = await call(base, 'GET', '/api/logs');
      assert(api.status === 404, `/api/logs answers 404 with logging off: ${api.status}`);
      await page.goto(base + '/logs');
      const notice = page.getByTestId('unavailable');
      await notice.waitFor();
      const text = await notice.innerText();
      assert(text.includes('turned off') && text.includes('HTTP 404') && text.includes(api.body.error.message), `notice: ${text}`);
      assert((await page.getByTestId('logs-table').count()) === 0, 'no table of made-up rows');
      await page.getByRole('link', { name: 'Overview' }).click();
      await page.getByTestId('unavailable').waitFor();
      await page.getByTestId('getting-started').waitFor();
      assert(page.errors.length === 0, page.errors.join('\n'));
    });
  } finally {
    await page.context().close();
    await gw.stop();
  }
}
