// Opens the exactql playground at / in headless Debian Chromium (driven by
// playwright-core), with every request to another host blocked, runs the
// default query as the sandbox's demo buyer and checks the result shows
// priced products. Saves a screenshot (SCREENSHOT, default
// ../ci-artifacts/playground.png). Prints one PASS or FAIL line.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const base = process.env.EXACTQL_URL;
const shot = resolve(process.env.SCREENSHOT ?? '../ci-artifacts/playground.png');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

async function main() {
  if (!base) throw new Error('EXACTQL_URL is not set');
  const origin = new URL(base).origin;
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const blocked = [];
    const pageErrors = [];
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith('data:') || u.startsWith('blob:') || new URL(u).origin === origin) {
        return route.continue();
      }
      blocked.push(u);
      return route.abort('blockedbyclient');
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));

    const res = await page.goto(`${origin}/`, { waitUntil: 'load' });
    if (!res || res.status() !== 200) throw new Error(`GET / answered ${res && res.status()}`);
    const run = page.locator('.graphiql-execute-button');
    await run.waitFor({ state: 'visible', timeout: 30000 });

    const answer = page.waitForResponse((r) => r.url() === `${origin}/graphql` && r.request().method() === 'POST' &&
      (r.request().postData() ?? '').includes('products'), { timeout: 30000 });
    await run.click();
    const resp = await answer;
    const auth = resp.request().headers()['authorization'] ?? '';
    if (!auth.startsWith('Bearer ')) throw new Error('the playground sent no demo buyer token');
    const body = await resp.json();
    if (resp.status() !== 200 || body.errors) throw new Error(`query answered ${resp.status()}: ${JSON.stringify(body.errors)}`);
    const nodes = body.data.products.nodes;
    if (nodes.length === 0 || !nodes.every((n) => n.price && n.price.unitPrice.amount)) {
      throw new Error('the result has no priced products');
    }
    // The result pane shows what the server answered.
    const pane = page.locator('.graphiql-response');
    await pane.getByText(nodes[0].code).first().waitFor({ state: 'visible', timeout: 15000 });

    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    if (pageErrors.length > 0) throw new Error(`page errors: ${pageErrors.join('; ')}`);
    return `${nodes.length} priced products shown (first ${nodes[0].code} at ${nodes[0].price.unitPrice.amount} ${nodes[0].price.unitPrice.currencyCode}), ${blocked.length} off-host requests blocked, screenshot ${shot}`;
  } finally {
    await browser.close();
  }
}

try {
  console.log(`PASS playground in Chromium: ${await main()}`);
} catch (err) {
  console.log(`FAIL playground in Chromium: ${err.message}`);
  process.exit(1);
}
