/**
 * A generated Android app for the simulated explorer: screens with realistic `uiautomator dump`
 * XML, texts that change between visits (clocks, counters, names), lists of varying length and
 * scroll position, dead ends, and a login wall in front of everything. The same package and seed
 * give the same app.
 */

/** A deterministic pseudo-random source (mulberry32). */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}

/** Something on a screen an agent can act on. */
export interface Widget {
  /** Resource-id name, unique on its screen. */
  id: string;
  kind: 'button' | 'edit' | 'toggle' | 'tab';
  label: string;
  /** Where a tap leads; null: it stays on the screen (a toggle, a text field). */
  to: string | null;
}

export interface ScreenModel {
  id: string;
  activity: string;
  title: string;
  widgets: Widget[];
  /** A list whose rows all lead to `rowTo`, with a length that varies between visits (never empty: an empty list is another screen). */
  list: { rowTo: string; minRows: number; maxRows: number; noun: string } | null;
  /** No way on but back. */
  deadEnd: boolean;
}

export interface AppModel {
  appPackage: string;
  seed: number;
  /** Where the app starts: the login wall. */
  start: string;
  /** Where a successful login leads. */
  home: string;
  screens: Map<string, ScreenModel>;
}

const WIDTH = 1080;
const HEIGHT = 2400;
const TOOLBAR = [0, 63, WIDTH, 210] as const;
const ROW_HEIGHT = 180;

const FEATURES = ['Wallet', 'Offers', 'Orders', 'Messages', 'Friends', 'Rewards', 'Library', 'Downloads', 'Help'];

/** What else a generated app has, beyond the shop every seed makes. */
export interface AppShape {
  /**
   * A category tree behind a "Browse" button on the home screen: every category screen links to
   * 2 to `branching` subcategories, `depth` levels deep, the deepest ones list products. Deep
   * screens are what an explorer without memory rarely reaches twice.
   */
  catalog?: { branching: number; depth: number };
}

/** The app of a package and seed (and shape: the same three give the same app). */
export function generateApp(appPackage: string, seed: number, shape: AppShape = {}): AppModel {
  const random = new Random(seed);
  const screens = new Map<string, ScreenModel>();
  const add = (screen: Omit<ScreenModel, 'list' | 'deadEnd'> & Partial<ScreenModel>) =>
    screens.set(screen.id, { list: null, deadEnd: false, ...screen });
  const button = (id: string, label: string, to: string | null): Widget => ({ id, kind: 'button', label, to });

  const features = [...FEATURES].sort(() => random.next() - 0.5).slice(0, random.int(3, 6));
  add({
    id: 'login',
    activity: '.auth.LoginActivity',
    title: 'Sign in',
    widgets: [
      { id: 'username', kind: 'edit', label: 'Email', to: null },
      { id: 'password', kind: 'edit', label: 'Password', to: null },
      button('sign_in', 'Sign in', 'home'),
      button('forgot_password', 'Forgot password?', 'terms'),
    ],
  });
  add({
    id: 'home',
    activity: '.MainActivity',
    title: 'Home',
    widgets: [
      button('search', 'Search', 'search'),
      button('cart', 'Cart', 'cart'),
      { id: 'tab_settings', kind: 'tab', label: 'Settings', to: 'settings' },
      { id: 'tab_profile', kind: 'tab', label: 'Profile', to: 'profile' },
      ...features
        .slice(0, 2)
        .map((name) => button(`open_${name.toLowerCase()}`, name, `feature_${name.toLowerCase()}`)),
    ],
    list: { rowTo: 'detail', minRows: 2, maxRows: 14, noun: 'Product' },
  });
  add({
    id: 'search',
    activity: '.search.SearchActivity',
    title: 'Search',
    widgets: [{ id: 'query', kind: 'edit', label: 'Search products', to: null }, button('go', 'Go', 'results')],
  });
  add({
    id: 'results',
    activity: '.search.ResultsActivity',
    title: 'Results',
    widgets: [button('filter', 'Filter', 'filter')],
    list: { rowTo: 'detail', minRows: 1, maxRows: 20, noun: 'Result' },
  });
  add({
    id: 'filter',
    activity: '.search.FilterActivity',
    title: 'Filter',
    widgets: [
      { id: 'in_stock', kind: 'toggle', label: 'In stock only', to: null },
      { id: 'free_shipping', kind: 'toggle', label: 'Free shipping', to: null },
      button('apply', 'Apply', 'results'),
    ],
  });
  add({
    id: 'detail',
    activity: '.catalog.ProductActivity',
    title: 'Product',
    widgets: [
      button('add_to_cart', 'Add to cart', 'cart'),
      button('reviews', 'Reviews', 'reviews'),
      button('share', 'Share', 'share'),
    ],
  });
  add({
    id: 'reviews',
    activity: '.catalog.ReviewsActivity',
    title: 'Reviews',
    widgets: [],
    list: { rowTo: 'review', minRows: 1, maxRows: 9, noun: 'Review' },
  });
  add({ id: 'review', activity: '.catalog.ReviewActivity', title: 'Review', widgets: [], deadEnd: true });
  add({ id: 'share', activity: '.share.ShareSheetActivity', title: 'Share with', widgets: [], deadEnd: true });
  add({
    id: 'cart',
    activity: '.checkout.CartActivity',
    title: 'Cart',
    widgets: [button('checkout', 'Checkout', 'checkout')],
    list: { rowTo: 'detail', minRows: 1, maxRows: 6, noun: 'Item' },
  });
  add({
    id: 'checkout',
    activity: '.checkout.CheckoutActivity',
    title: 'Checkout',
    widgets: [{ id: 'address', kind: 'edit', label: 'Address', to: null }, button('pay', 'Pay', 'receipt')],
  });
  add({
    id: 'receipt',
    activity: '.checkout.ReceiptActivity',
    title: 'Thank you',
    widgets: [button('done', 'Done', 'home')],
  });
  add({
    id: 'settings',
    activity: '.MainActivity',
    title: 'Settings',
    widgets: [
      { id: 'notifications', kind: 'toggle', label: 'Notifications', to: null },
      { id: 'dark_mode', kind: 'toggle', label: 'Dark mode', to: null },
      button('about', 'About', 'about'),
      button('terms_link', 'Terms of service', 'terms'),
      button('sign_out', 'Sign out', 'login'),
      ...features.slice(2).map((name) => button(`open_${name.toLowerCase()}`, name, `feature_${name.toLowerCase()}`)),
    ],
  });
  add({
    id: 'profile',
    activity: '.MainActivity',
    title: 'Profile',
    widgets: [
      { id: 'display_name', kind: 'edit', label: 'Name', to: null },
      button('orders', 'My orders', 'orders_list'),
    ],
  });
  add({
    id: 'orders_list',
    activity: '.account.OrdersActivity',
    title: 'Orders',
    widgets: [],
    list: { rowTo: 'receipt', minRows: 1, maxRows: 8, noun: 'Order' },
  });
  add({ id: 'about', activity: '.settings.AboutActivity', title: 'About', widgets: [], deadEnd: true });
  add({ id: 'terms', activity: '.settings.TermsActivity', title: 'Terms', widgets: [], deadEnd: true });

  // Feature screens, linked among themselves at random: the part of the app that differs by seed.
  const featureIds = features.map((name) => `feature_${name.toLowerCase()}`);
  features.forEach((name, i) => {
    const links = featureIds.filter((id) => id !== featureIds[i]).filter(() => random.next() < 0.4);
    add({
      id: featureIds[i] as string,
      activity: `.${name.toLowerCase()}.${name}Activity`,
      title: name,
      widgets: [
        ...links.map((to) => button(`go_${to.slice('feature_'.length)}`, `Go to ${to.slice('feature_'.length)}`, to)),
        ...(random.next() < 0.5 ? [button('details', 'Details', `${featureIds[i]}_details`)] : []),
      ],
      list: random.next() < 0.5 ? { rowTo: 'detail', minRows: 1, maxRows: 10, noun: `${name} item` } : null,
    });
    const detailsLinked = screens.get(featureIds[i] as string)?.widgets.some((w) => w.id === 'details');
    if (detailsLinked) {
      add({
        id: `${featureIds[i]}_details`,
        activity: `.${name.toLowerCase()}.${name}DetailsActivity`,
        title: `${name} details`,
        widgets: [],
        deadEnd: true,
      });
    }
  });
  if (shape.catalog) addCatalog(screens, random, shape.catalog);
  return { appPackage, seed, start: 'login', home: 'home', screens };
}

/** The category tree of `AppShape.catalog`, its root opened from home. */
function addCatalog(
  screens: Map<string, ScreenModel>,
  random: Random,
  { branching, depth }: { branching: number; depth: number },
): void {
  const home = screens.get('home');
  if (!home) throw new Error('no home screen');
  home.widgets.push({ id: 'browse', kind: 'button', label: 'Browse', to: 'catalog' });
  const addCategory = (id: string, name: string, level: number) => {
    const children = level < depth ? random.int(2, Math.max(2, branching)) : 0;
    const childIds = Array.from({ length: children }, (_, i) => `${id}_${i + 1}`);
    screens.set(id, {
      id,
      activity: level === 0 ? '.browse.CatalogActivity' : `.browse.Level${level}Activity`,
      title: name,
      // A deepest category has a filter of its own: alike lists would be one screen otherwise.
      widgets:
        children === 0
          ? [{ id: `in_stock${id.slice('catalog'.length)}`, kind: 'toggle', label: 'In stock', to: null }]
          : childIds.map((child, i) => ({
              id: `open${child.slice('catalog'.length)}`,
              kind: 'button',
              label: `${name} ${i + 1}`,
              to: child,
            })),
      list: children === 0 ? { rowTo: 'detail', minRows: 1, maxRows: 12, noun: `${name} product` } : null,
      deadEnd: false,
    });
    childIds.forEach((child, i) => {
      addCategory(child, level === 0 ? `Category ${i + 1}` : `${name}.${i + 1}`, level + 1);
    });
  };
  addCategory('catalog', 'Catalog', 0);
}

/** One visit of a screen: what changes between visits (list length, scroll, texts). */
export interface Visit {
  rows: number;
  /** Pixels the list is scrolled by. */
  offset: number;
  /** Visit counter, shown in dynamic texts. */
  stamp: number;
  /** Toggles that are on. */
  checked: ReadonlySet<string>;
}

/** Where a widget or the visible list rows are on a screen during a visit. */
export interface Layout {
  widgets: { widget: Widget; bounds: [number, number, number, number] }[];
  rows: [number, number, number, number][];
  listBounds: [number, number, number, number] | null;
}

/** The positions of everything on a screen for a visit. */
export function layoutOf(screen: ScreenModel, visit: Visit): Layout {
  const widgets = screen.widgets.map((widget, i) => ({
    widget,
    bounds: [48, 250 + i * 150, WIDTH - 48, 370 + i * 150] as [number, number, number, number],
  }));
  if (!screen.list) return { widgets, rows: [], listBounds: null };
  const top = 250 + screen.widgets.length * 150 + 30;
  const listBounds: [number, number, number, number] = [0, top, WIDTH, HEIGHT - 150];
  const rows: [number, number, number, number][] = [];
  for (let i = 0; i < visit.rows; i++) {
    const y1 = top + i * ROW_HEIGHT - visit.offset;
    const y2 = y1 + ROW_HEIGHT;
    if (y2 <= top || y1 >= listBounds[3]) continue;
    rows.push([0, Math.max(y1, top), WIDTH, Math.min(y2, listBounds[3])]);
  }
  return { widgets, rows, listBounds };
}

const escapeXml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface NodeAttributes {
  className: string;
  resourceId?: string;
  text?: string;
  contentDesc?: string;
  bounds: readonly [number, number, number, number];
  clickable?: boolean;
  scrollable?: boolean;
  checkable?: boolean;
  checked?: boolean;
  focusable?: boolean;
  password?: boolean;
}

/** The `uiautomator dump` of a screen during a visit. */
export function renderScreen(app: AppModel, screen: ScreenModel, visit: Visit): string {
  const pkg = app.appPackage;
  let index = 0;
  const node = (a: NodeAttributes, children = ''): string => {
    const attributes = [
      `index="${index++}"`,
      `text="${escapeXml(a.text ?? '')}"`,
      `resource-id="${a.resourceId ? `${pkg}:id/${a.resourceId}` : ''}"`,
      `class="${a.className}"`,
      `package="${pkg}"`,
      `content-desc="${escapeXml(a.contentDesc ?? '')}"`,
      `checkable="${a.checkable ?? false}"`,
      `checked="${a.checked ?? false}"`,
      `clickable="${a.clickable ?? false}"`,
      'enabled="true"',
      `focusable="${a.focusable ?? a.clickable ?? false}"`,
      'focused="false"',
      `scrollable="${a.scrollable ?? false}"`,
      'long-clickable="false"',
      `password="${a.password ?? false}"`,
      'selected="false"',
      'visible-to-user="true"',
      `bounds="[${a.bounds[0]},${a.bounds[1]}][${a.bounds[2]},${a.bounds[3]}]"`,
    ].join(' ');
    return children ? `<node ${attributes}>${children}</node>` : `<node ${attributes} />`;
  };
  const layout = layoutOf(screen, visit);
  const clock = `${String(9 + (visit.stamp % 12)).padStart(2, '0')}:${String((visit.stamp * 7) % 60).padStart(2, '0')}`;
  const toolbar = node(
    { className: 'android.view.ViewGroup', resourceId: 'toolbar', bounds: TOOLBAR },
    node({
      className: 'android.widget.TextView',
      resourceId: 'title',
      text: `${screen.title} · ${clock}`,
      bounds: [48, 90, 800, 180],
    }) +
      node({
        className: 'android.widget.TextView',
        resourceId: 'badge',
        text: String(visit.stamp % 9),
        bounds: [900, 90, 1000, 180],
      }),
  );
  const widgets = layout.widgets
    .map(({ widget, bounds }) => {
      switch (widget.kind) {
        case 'edit':
          return node({
            className: 'android.widget.EditText',
            resourceId: widget.id,
            text: widget.label,
            clickable: true,
            password: widget.id === 'password',
            bounds,
          });
        case 'toggle':
          return node({
            className: 'android.widget.Switch',
            resourceId: widget.id,
            text: widget.label,
            clickable: true,
            checkable: true,
            checked: visit.checked.has(widget.id),
            bounds,
          });
        case 'tab':
          return node({
            className: 'android.widget.FrameLayout',
            resourceId: widget.id,
            contentDesc: widget.label,
            clickable: true,
            bounds,
          });
        default:
          return node({
            className: 'android.widget.Button',
            resourceId: widget.id,
            text: widget.label,
            clickable: true,
            bounds,
          });
      }
    })
    .join('');
  const list =
    screen.list && layout.listBounds
      ? node(
          {
            className: 'androidx.recyclerview.widget.RecyclerView',
            resourceId: 'list',
            scrollable: true,
            bounds: layout.listBounds,
          },
          layout.rows
            .map((bounds, i) =>
              node(
                { className: 'android.widget.LinearLayout', resourceId: 'row', clickable: true, bounds },
                node({
                  className: 'android.widget.TextView',
                  resourceId: 'row_title',
                  text: `${screen.list?.noun} ${i + 1 + Math.floor(visit.offset / ROW_HEIGHT)}`,
                  bounds: [48, bounds[1], 800, bounds[3]],
                }) +
                  node({
                    className: 'android.widget.TextView',
                    resourceId: 'row_price',
                    text: `$${((visit.stamp * 13 + i * 7) % 90) + 9}.99`,
                    bounds: [820, bounds[1], 1032, bounds[3]],
                  }),
              ),
            )
            .join(''),
        )
      : '';
  const content = node(
    { className: 'android.widget.LinearLayout', resourceId: 'content', bounds: [0, 210, WIDTH, HEIGHT - 150] },
    widgets + list,
  );
  const body = screen.deadEnd
    ? node(
        {
          className: 'android.widget.ScrollView',
          resourceId: 'body',
          scrollable: false,
          bounds: [0, 210, WIDTH, HEIGHT - 150],
        },
        node({
          className: 'android.widget.TextView',
          resourceId: 'body_text',
          text: `${screen.title} text, revision ${visit.stamp}`,
          bounds: [48, 250, WIDTH - 48, 1800],
        }),
      )
    : content;
  const root = node(
    { className: 'android.widget.FrameLayout', bounds: [0, 0, WIDTH, HEIGHT] },
    node({ className: 'android.widget.LinearLayout', bounds: [0, 63, WIDTH, HEIGHT] }, toolbar + body),
  );
  return `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0">${root}</hierarchy>`;
}

export const SCREEN_SIZE = { width: WIDTH, height: HEIGHT };
