/**
 * A small shop app as `uiautomator dump` would give it: a home screen with a search button, a
 * settings button and a product list; search, product and settings screens. Texts and list
 * lengths vary between observations, as they do on a device.
 */
export const APP = 'com.example.shop';
const id = (name: string) => `${APP}:id/${name}`;

type Attributes = Record<string, string | boolean | number[]>;

function node(attributes: Attributes, children = ''): string {
  const text = Object.entries(attributes)
    .map(([key, value]) => {
      const rendered = Array.isArray(value) ? `[${value[0]},${value[1]}][${value[2]},${value[3]}]` : String(value);
      return `${key}="${rendered.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`;
    })
    .join(' ');
  return children ? `<node ${text}>${children}</node>` : `<node ${text} />`;
}

function screen(children: string): string {
  return `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0">${node(
    { class: 'android.widget.FrameLayout', package: APP, bounds: [0, 0, 1080, 2400] },
    children,
  )}</hierarchy>`;
}

export const HOME_SEARCH_BOUNDS = [40, 220, 540, 340];
export const HOME_SETTINGS_BOUNDS = [900, 220, 1040, 340];
/** Bounds of product row `i` (from 0) when the list is scrolled by `offset` pixels. */
export const rowBounds = (i: number, offset = 0) => [0, 400 + i * 200 - offset, 1080, 600 + i * 200 - offset];

export function home(greeting: string, products: number, offset = 0): string {
  const rows = Array.from({ length: products }, (_, i) =>
    node(
      { class: 'android.widget.LinearLayout', package: APP, clickable: true, bounds: rowBounds(i, offset) },
      node({ class: 'android.widget.TextView', 'resource-id': id('name'), text: `Product ${i + 1}`, package: APP }),
    ),
  ).join('');
  return screen(
    node({
      class: 'android.widget.TextView',
      'resource-id': id('greeting'),
      text: greeting,
      bounds: [0, 100, 1080, 200],
    }) +
      node({
        class: 'android.widget.Button',
        'resource-id': id('search'),
        text: 'Search',
        clickable: true,
        bounds: HOME_SEARCH_BOUNDS,
      }) +
      node({
        class: 'android.widget.ImageButton',
        'resource-id': id('settings'),
        'content-desc': 'Settings',
        clickable: true,
        bounds: HOME_SETTINGS_BOUNDS,
      }) +
      node(
        {
          class: 'androidx.recyclerview.widget.RecyclerView',
          'resource-id': id('products'),
          scrollable: true,
          bounds: [0, 400, 1080, 2400],
        },
        rows,
      ),
  );
}

export function search(query: string): string {
  return screen(
    node({
      class: 'android.widget.EditText',
      'resource-id': id('query'),
      text: query,
      clickable: true,
      bounds: [40, 100, 800, 220],
    }) +
      node({
        class: 'android.widget.Button',
        'resource-id': id('go'),
        text: 'Go',
        clickable: true,
        bounds: [820, 100, 1040, 220],
      }),
  );
}

export function product(title: string): string {
  return screen(
    node({ class: 'android.widget.TextView', 'resource-id': id('title'), text: title, bounds: [0, 100, 1080, 300] }) +
      node({
        class: 'android.widget.Button',
        'resource-id': id('buy'),
        text: 'Buy',
        clickable: true,
        bounds: [40, 2200, 1040, 2350],
      }),
  );
}

export function settings(): string {
  return screen(
    node({
      class: 'android.widget.Switch',
      'resource-id': id('dark'),
      text: 'Dark theme',
      clickable: true,
      checkable: true,
      bounds: [40, 200, 1040, 320],
    }),
  );
}

export const resourceId = id;
