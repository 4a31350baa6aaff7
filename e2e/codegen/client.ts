// A small typed storefront client over the types GraphQL Code Generator made
// from the running gateway's schema (strictScalars, the scalars mapping of
// docs/scalars.md). codegen.mjs type-checks it with `tsc --noEmit`; nothing
// runs it. The @ts-expect-error lines prove the mapping is strict: if Decimal
// or Date were mapped to `any` (or a number), they would compile and tsc
// would fail on the unused directive.
import type {
  PlaceOrderInput,
  PlaceOrderMutation,
  PlaceOrderMutationVariables,
  ProductPageQuery,
  ProductPageQueryVariables,
  ProductStockQuery,
  ProductStockQueryVariables,
} from './__generated__/operations';

type GraphQLResponse<T> = {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; retryAfterSeconds?: number } }[];
};

async function request<T, V>(url: string, token: string, query: string, variables: V): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GraphQLResponse<T>;
  if (body.errors?.length || !body.data) {
    throw new Error(body.errors?.map((e) => e.extensions?.code ?? e.message).join(', ') ?? `HTTP ${res.status}`);
  }
  return body.data;
}

// The query texts are in operations.graphql; a real app would import typed
// documents. The client only needs their types here.
declare const PRODUCT_PAGE: string;
declare const PRODUCT_STOCK: string;
declare const PLACE_ORDER: string;

export async function cheapestOnPage(url: string, token: string, vars: ProductPageQueryVariables): Promise<string | null> {
  const data = await request<ProductPageQuery, ProductPageQueryVariables>(url, token, PRODUCT_PAGE, vars);
  let best: string | null = null;
  for (const { node } of data.products.edges) {
    // Decimal is a string: compare as decimals, never through float sums.
    const amount: string | undefined = node.price?.unitPrice.amount;
    if (amount !== undefined && (best === null || Number(amount) < Number(best))) best = amount;
    // Date is a string "YYYY-MM-DD" (or null).
    const until: string | null | undefined = node.price?.validUntil;
    void until;
    // @ts-expect-error Decimal is mapped to string, not number.
    const asNumber: number | undefined = node.price?.unitPrice.amount;
    void asNumber;
  }
  return best;
}

export async function stockOf(url: string, token: string, code: string): Promise<string> {
  const vars: ProductStockQueryVariables = { code };
  const data = await request<ProductStockQuery, ProductStockQueryVariables>(url, token, PRODUCT_STOCK, vars);
  const levels = data.product?.stock ?? [];
  // DateTime is an RFC 3339 string.
  const newest: string | undefined = levels.map((l) => l.asOf).sort().at(-1);
  return `${data.product?.availableQuantity ?? '0'} (as of ${newest ?? 'unknown'})`;
}

export async function placeOrder(url: string, token: string, cartId: string, code: string, quantity: string): Promise<PlaceOrderMutation['placeOrder']> {
  const input: PlaceOrderInput = { idempotencyKey: cartId, lines: [{ productCode: code, quantity }] };
  // @ts-expect-error Decimal inputs are strings under the documented mapping.
  const wrong: PlaceOrderInput = { idempotencyKey: cartId, lines: [{ productCode: code, quantity: 2 }] };
  void wrong;
  const data = await request<PlaceOrderMutation, PlaceOrderMutationVariables>(url, token, PLACE_ORDER, { input });
  for (const e of data.placeOrder.userErrors) {
    // code is a union of the schema's UserErrorCode values.
    if (e.code === 'IDEMPOTENCY_KEY_REUSED') throw new Error('this cart was already ordered with other lines');
  }
  return data.placeOrder;
}
