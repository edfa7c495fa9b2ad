// Admin auth in the browser: with auth_config on, the app shows the login, refuses a wrong
// password, lets the admin in (session cookie), and logs out again.
import { assert, call, eventually, field, openPage, requireApi, screenshot, startGateway, test } from './lib.mjs';

const ADMIN = { username: 'admin', password: 'e2e-admin-password' };

export async function run(browser) {
  const gw = await startGateway({
    config: { auth_config: { is_enabled: true, admin_username: ADMIN.username, admin_password: ADMIN.password } },
  });
  const page = await openPage(browser);
  const base = gw.url;
  try {
    await test('with admin auth on, the dashboard asks to log in and the API refuses strangers', async () => {
      const r = await requireApi(base, '/api/session/is-auth-enabled');
      assert(r.body.is_auth_enabled === true, `auth is on: ${JSON.stringify(r.body)}`);
      const api = await call(base, 'GET', '/api/providers');
      assert(api.status === 401, `API without credentials: ${api.status}`);
      await page.goto(base + '/providers');
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.waitForURL('**/login?next=%2Fproviders');
      await screenshot(page, 'login');
    });

    await test('a wrong password is refused', async () => {
      await field(page, 'User name').fill(ADMIN.username);
      await field(page, 'Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Wrong user name or password.').waitFor();
    });

    await test('log in, use the dashboard, log out', async () => {
      await field(page, 'Password').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/providers');
      await page.getByRole('heading', { name: 'Providers' }).waitFor();
      await page.getByTestId('getting-started').waitFor();
      const cookies = await page.context().cookies();
      assert(cookies.some((c) => c.name === 'token' && c.httpOnly), 'an HttpOnly session cookie is set');
      await page.getByRole('link', { name: 'Logs' }).click();
      await page.getByTestId('live-state').getByText('Live').waitFor();
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      const after = await page.evaluate(async () => (await fetch('/api/providers')).status);
      assert(after === 401, `after logout the API refuses the browser: ${after}`);
      await page.reload();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    });

    await test('settings: admin auth is changed in the browser; the redacted password is kept', async () => {
      await page.goto(base + '/settings');
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await field(page, 'User name').fill(ADMIN.username);
      await field(page, 'Password').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/settings');
      const form = page.getByRole('form', { name: 'Admin authentication' });
      await form.waitFor();
      assert((await field(form, 'Admin user name').inputValue()) === ADMIN.username, 'the admin user name is shown');
      assert((await field(form, 'Admin password').inputValue()) === '', 'the password is never shown');
      await form.getByRole('checkbox', { name: /Inference without admin login/ }).check();
      await form.getByRole('button', { name: 'Save authentication' }).click();
      const basic = { authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}` };
      const cfg = await eventually('auth_config saved', async () => {
        const r = await call(base, 'GET', '/api/config', undefined, basic);
        return r.status === 200 && r.body.auth_config.disable_auth_on_inference === true ? r : null;
      });
      assert(cfg.body.auth_config.admin_password === '<redacted>', `redacted: ${JSON.stringify(cfg.body.auth_config)}`);
      assert(!JSON.stringify(cfg.body).includes(ADMIN.password), 'the password never comes back');
      assert(cfg.body.auth_config.is_enabled === true, 'auth stays on');
    });

    await test('no script errors with auth on', async () => {
      const errors = page.errors.filter((e) => !/WebSocket connection .* failed|401/.test(e));
      assert(errors.length === 0, errors.join('\n'));
    });
  } finally {
    await page.context().close();
    await gw.stop();
  }
}
