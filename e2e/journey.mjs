// A storefront journey through a mainstream GraphQL client (graphql-request)
// against a running exactql (EXACTQL_URL) in sandbox mode: browse a page,
// search, open a product with price breaks and stock, place an order, read
// it back. Prints one PASS or FAIL line.
import { GraphQLClient, gql } from 'graphql-request';

const base = process.env.EXACTQL_URL;

const PAGE = gql`
  query Page($first: Int, $after: String, $search: String) {
    products(first: $first, after: $after, search: $search) {
      nodes { id code description price { unitPrice { amount currencyCode } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const DETAIL_PAGE = gql`
  query DetailPage($first: Int, $after: String) {
    products(first: $first, after: $after) {
      nodes { code priceBreaks { minimumQuantity } availableQuantity }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const PRODUCT = gql`
  query Product($code: String) {
    product(code: $code) {
      id code description unit
      price(quantity: "1") { unitPrice { amount currencyCode } source }
      priceBreaks { minimumQuantity unitPrice { amount currencyCode } }
      stock { warehouse { code } onHand available }
      availableQuantity
    }
  }
`;
const PLACE = gql`
  mutation Place($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      order { id orderNumber status yourReference lines { productCode quantity unitPrice { amount } } }
      userErrors { field code message }
    }
  }
`;
const ORDER = gql`
  query Order($id: ID!) {
    order(id: $id) { id orderNumber status yourReference lines { productCode quantity } }
    viewer { name orders(first: 20) { nodes { id } } }
  }
`;

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// request sends one operation; on RATE_LIMITED (the gateway's per-caller
// budget of Exact calls) it waits retryAfterSeconds and tries again, as a
// well-behaved client does, at most 3 times.
let rateLimitedWaits = 0;
async function request(client, doc, vars) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.request(doc, vars);
    } catch (err) {
      const e = err?.response?.errors?.find((x) => x.extensions?.code === 'RATE_LIMITED');
      if (!e || attempt >= 3) throw err;
      rateLimitedWaits++;
      await new Promise((r) => setTimeout(r, 1000 * Math.min(Number(e.extensions.retryAfterSeconds) || 1, 60)));
    }
  }
}

async function main() {
  check(base, 'EXACTQL_URL is not set');
  const tokens = await (await fetch(`${base}/demo/tokens`)).json();
  const buyer = tokens.find((t) => t.rule === 'PRICE_LIST') ?? tokens[0];
  check(buyer, 'no demo buyer');
  const client = new GraphQLClient(`${base}/graphql`, {
    headers: { authorization: `Bearer ${buyer.token}` },
  });
  const steps = [];

  // 1. Browse: two pages, no overlap.
  const p1 = await request(client, PAGE, { first: 10 });
  check(p1.products.nodes.length === 10, `page 1 has ${p1.products.nodes.length} products`);
  check(p1.products.pageInfo.hasNextPage, 'page 1 says there is no next page');
  const p2 = await request(client, PAGE, { first: 10, after: p1.products.pageInfo.endCursor });
  const seen = new Set(p1.products.nodes.map((n) => n.id));
  check(p2.products.nodes.length > 0 && p2.products.nodes.every((n) => !seen.has(n.id)), 'page 2 repeats page 1');
  steps.push(`browsed 2 pages (${p1.products.nodes.length + p2.products.nodes.length} products)`);

  // 2. Search by a word of a product's description.
  const word = p1.products.nodes[0].description.split(/\s+/).find((w) => w.length >= 4) ?? p1.products.nodes[0].code;
  const found = await request(client, PAGE, { first: 24, search: word });
  check(found.products.nodes.length > 0, `search "${word}" found nothing`);
  const lw = word.toLowerCase();
  check(found.products.nodes.every((n) => n.description.toLowerCase().includes(lw) || n.code.toLowerCase().includes(lw)),
    `search "${word}" returned a product that does not match`);
  steps.push(`search "${word}" found ${found.products.nodes.length}`);

  // 3. Open a product that has volume price breaks and stock.
  let code;
  let after = null;
  for (let i = 0; i < 10 && !code; i++) {
    const page = await request(client, DETAIL_PAGE, { first: 50, after });
    code = page.products.nodes.find((n) => n.priceBreaks.length >= 2 && Number(n.availableQuantity) > 0)?.code;
    if (!page.products.pageInfo.hasNextPage) break;
    after = page.products.pageInfo.endCursor;
  }
  check(code, 'no product with price breaks and stock found');
  const { product } = await request(client, PRODUCT, { code });
  check(product && product.code === code, `product(code: "${code}") did not return it`);
  check(product.stock.length > 0, 'product has no stock rows');
  const mins = product.priceBreaks.map((b) => Number(b.minimumQuantity));
  check(mins.every((m, i) => i === 0 || m > mins[i - 1]), 'price breaks are not sorted by minimum quantity');
  steps.push(`product ${product.code}: ${product.priceBreaks.length} price breaks, ${product.availableQuantity} available`);

  // 4. Place an order; the same idempotency key again returns the same order.
  const key = `journey-${Date.now()}`;
  const input = { idempotencyKey: key, yourReference: 'PO-JOURNEY', lines: [{ productCode: product.code, quantity: '2' }] };
  const placed = await request(client, PLACE, { input });
  check(placed.placeOrder.userErrors.length === 0, `placeOrder user errors: ${JSON.stringify(placed.placeOrder.userErrors)}`);
  const order = placed.placeOrder.order;
  check(order && (order.status === 'OPEN' || order.status === 'PENDING'), `order status ${order && order.status}`);
  check(order.lines.length === 1 && order.lines[0].productCode === product.code, 'order lines differ from the cart');
  const again = await request(client, PLACE, { input });
  check(again.placeOrder.order && again.placeOrder.order.id === order.id, 'retry with the same key made another order');
  steps.push(`order ${order.orderNumber ?? order.id} ${order.status}`);

  // 5. Read it back.
  const back = await request(client, ORDER, { id: order.id });
  check(back.order && back.order.id === order.id && back.order.yourReference === 'PO-JOURNEY', 'order(id) does not return the order');
  check(back.viewer.orders.nodes.some((n) => n.id === order.id), 'the order is not in viewer.orders');
  steps.push('read back through order(id) and viewer.orders');
  if (rateLimitedWaits > 0) steps.push(`waited out RATE_LIMITED ${rateLimitedWaits} time(s)`);
  return steps;
}

try {
  const steps = await main();
  console.log(`PASS client journey (graphql-request): ${steps.join('; ')}`);
} catch (err) {
  console.log(`FAIL client journey (graphql-request): ${err.message}`);
  process.exit(1);
}
