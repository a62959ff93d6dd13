import type { AgentEvent } from '@screengraph/client';
import {
  type AppModel,
  type Layout,
  layoutOf,
  Random,
  renderScreen,
  SCREEN_SIZE,
  type ScreenModel,
  type Visit,
} from './app-model.js';

type ActionPerformed = Extract<AgentEvent, { type: 'action.performed' }>;
type ScreenObserved = Extract<AgentEvent, { type: 'screen.observed' }>;
type ActionData = ActionPerformed['data'];
type Bounds = [number, number, number, number];

/** Something that can be done on the current screen, as an agent reading the dump would do it. */
export interface Choice {
  /** What it is, as the graph names actions: the action type and its target (`tap:sign_in`, `scroll:list`, `back`). */
  key: string;
  event: ActionPerformed;
}

const ROW_HEIGHT = 180;
const CLASS_OF = {
  edit: 'android.widget.EditText',
  toggle: 'android.widget.Switch',
  tab: 'android.widget.FrameLayout',
  button: 'android.widget.Button',
} as const;

const inside = ([x1, y1, x2, y2]: Bounds, [x, y]: [number, number]) => x >= x1 && x < x2 && y >= y1 && y < y2;
const centre = ([x1, y1, x2, y2]: Bounds): [number, number] => [(x1 + x2) / 2, (y1 + y2) / 2];

/**
 * A simulated Android device running a generated app: it shows the current screen as a
 * `uiautomator dump` and does what an agent asks, found by where it taps (the centre of the
 * target's bounds), as adb would. It keeps what an explorer saw: the screens and every distinct
 * transition (`from|action|to`), which a run's projected graph must equal.
 */
export class SimulatedDevice {
  /** Screens seen. */
  readonly visited = new Set<string>();
  /** `from|key|to` of every transition taken. */
  readonly transitions = new Set<string>();
  readonly random: Random;
  private readonly toggles = new Map<string, Set<string>>();
  private stack: string[] = [];
  private visit: Visit = { rows: 0, offset: 0, stamp: 0, checked: new Set() };
  /** Fields typed into during this visit of the screen: the login needs both. */
  private typed = new Set<string>();
  private stamp = 0;

  constructor(
    readonly app: AppModel,
    seed: number,
  ) {
    this.random = new Random(seed ^ 0x5eed);
  }

  /** Starts the app on its first screen (again, when it runs). */
  launch(): void {
    this.stack = [this.app.start];
    this.arrive();
  }

  get current(): string {
    return this.stack.at(-1) ?? this.app.start;
  }

  /** How many screens deep the back stack is. */
  get depth(): number {
    return this.stack.length;
  }

  get screen(): ScreenModel {
    const screen = this.app.screens.get(this.current);
    if (!screen) throw new Error(`no screen ${this.current}`);
    return screen;
  }

  /** The current screen, dumped. */
  observe(): ScreenObserved {
    this.visited.add(this.current);
    return {
      type: 'screen.observed',
      data: {
        hierarchyXml: renderScreen(this.app, this.screen, this.visit),
        activity: this.screen.activity,
        ...SCREEN_SIZE,
      },
    };
  }

  /** What can be done on the current screen. */
  choices(): Choice[] {
    const layout = this.layout();
    const id = (name: string) => `${this.app.appPackage}:id/${name}`;
    const choices: Choice[] = [];
    for (const { widget, bounds } of layout.widgets) {
      const target = { bounds, resourceId: id(widget.id), className: CLASS_OF[widget.kind] };
      const data: ActionData =
        widget.kind === 'edit'
          ? { actionType: 'input_text', target, inputText: `${widget.label} ${this.stamp}` }
          : { actionType: 'tap', target: { ...target, text: widget.label } };
      choices.push({ key: `${data.actionType}:${widget.id}`, event: { type: 'action.performed', data } });
    }
    if (this.screen.list && layout.listBounds) {
      const row = this.random.pick(layout.rows);
      choices.push({
        key: 'tap:row',
        event: {
          type: 'action.performed',
          data: {
            actionType: 'tap',
            target: { bounds: row, resourceId: id('row'), className: 'android.widget.LinearLayout' },
          },
        },
      });
      choices.push({
        key: 'scroll:list',
        event: {
          type: 'action.performed',
          data: {
            actionType: 'scroll',
            direction: 'down',
            target: {
              bounds: layout.listBounds,
              resourceId: id('list'),
              className: 'androidx.recyclerview.widget.RecyclerView',
            },
          },
        },
      });
    }
    if (this.stack.length > 1)
      choices.push({ key: 'back', event: { type: 'action.performed', data: { actionType: 'back' } } });
    return choices;
  }

  /**
   * Does what the agent asks: `back`, `launch`, or a tap, text input or scroll at the centre of
   * the target's bounds. Returns what it hit (a choice's key), `nothing` when nothing there reacts.
   */
  perform(data: ActionData): string {
    const from = this.current;
    const key = this.apply(data);
    this.transitions.add(`${from}|${key}|${this.current}`);
    return key;
  }

  private apply(data: ActionData): string {
    if (data.actionType === 'back') {
      // On the first screen the app ignores back (it would leave the app).
      if (this.stack.length > 1) {
        this.stack.pop();
        this.arrive();
      }
      return 'back';
    }
    if (data.actionType === 'launch') {
      this.launch();
      return 'launch';
    }
    const bounds = data.target?.bounds as Bounds | undefined;
    if (!bounds) return `${data.actionType}:nothing`;
    const point = centre(bounds);
    const layout = this.layout();
    const widget = layout.widgets.find((w) => inside(w.bounds, point))?.widget;
    const screen = this.screen;
    if (widget && data.actionType === 'input_text' && widget.kind === 'edit') {
      this.typed.add(widget.id);
      this.stay();
      return `input_text:${widget.id}`;
    }
    if (widget && data.actionType === 'tap') {
      if (widget.kind === 'toggle') {
        const on = this.toggles.get(screen.id) ?? new Set<string>();
        if (!on.delete(widget.id)) on.add(widget.id);
        this.toggles.set(screen.id, on);
      }
      const refused = screen.id === this.app.start && widget.to === this.app.home && !this.signedIn();
      if (widget.to === null || refused) this.stay();
      else this.go(widget.to);
      return `tap:${widget.id}`;
    }
    if (screen.list && layout.listBounds && inside(layout.listBounds, point)) {
      if (data.actionType === 'scroll') {
        this.stay(this.random.int(0, Math.max(0, this.visit.rows - 1)) * ROW_HEIGHT);
        return 'scroll:list';
      }
      if (data.actionType === 'tap' && layout.rows.some((row) => inside(row, point))) {
        this.go(screen.list.rowTo);
        return 'tap:row';
      }
    }
    this.stay();
    return `${data.actionType}:nothing`;
  }

  /** Whether the field was typed into during this visit of the screen. */
  hasTyped(fieldId: string): boolean {
    return this.typed.has(fieldId);
  }

  private signedIn(): boolean {
    return this.typed.has('username') && this.typed.has('password');
  }

  private layout(): Layout {
    return layoutOf(this.screen, this.visit);
  }

  private go(to: string): void {
    if (to === this.app.home || to === this.app.start) this.stack = [to];
    else this.stack.push(to);
    this.arrive();
  }

  /** It stays: a field typed, a toggle flipped, the list scrolled (to `offset`), a sign-in refused. */
  private stay(offset = this.visit.offset): void {
    this.visit = { ...this.visit, offset, stamp: ++this.stamp, checked: new Set(this.toggles.get(this.current)) };
  }

  /** A new visit of the current screen: the list reloaded, texts changed, fields empty. */
  private arrive(): void {
    const list = this.screen.list;
    this.typed = new Set();
    this.visit = {
      rows: list ? this.random.int(list.minRows, list.maxRows) : 0,
      offset: 0,
      stamp: ++this.stamp,
      checked: new Set(this.toggles.get(this.current)),
    };
  }
}
