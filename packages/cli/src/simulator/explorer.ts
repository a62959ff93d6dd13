import type { AgentEvent } from '@screengraph/client';
import {
  type AppModel,
  layoutOf,
  Random,
  renderScreen,
  SCREEN_SIZE,
  type ScreenModel,
  type Visit,
} from './app-model.js';

/** A choice on the current screen: `key` names it as the graph will (a widget id, `row`, `scroll`, `back`). */
interface Choice {
  key: string;
  event: Extract<AgentEvent, { type: 'action.performed' }>;
  /** The screen it leads to (the current one when it changes nothing). */
  to: string;
}

const ROW_HEIGHT = 180;

/**
 * A simulated exploring agent on a generated app: it prefers what it has not tried on a screen,
 * backs out of dead ends, gets past the login wall by typing both fields, and reports each screen
 * as `uiautomator dump` XML. It records the part of the app it visited, which the projected graph
 * must equal.
 */
export class SimulatedExplorer {
  /** Screens seen. */
  readonly visited = new Set<string>();
  /** `from|key|to` of every transition taken. */
  readonly transitions = new Set<string>();
  private readonly random: Random;
  private readonly tried = new Map<string, Set<string>>();
  private readonly toggles = new Map<string, Set<string>>();
  private stack: string[] = [];
  private visit: Visit = { rows: 0, offset: 0, stamp: 0, checked: new Set() };
  private typed = new Set<string>();
  private stamp = 0;

  constructor(
    readonly app: AppModel,
    seed: number,
  ) {
    this.random = new Random(seed ^ 0x5eed);
  }

  /** Launches the app: the first observation. */
  start(): AgentEvent[] {
    this.stack = [this.app.start];
    this.arrive();
    return [this.observe()];
  }

  /** One action and the observation after it. */
  step(): AgentEvent[] {
    const from = this.current;
    const choice = this.choose();
    const tried = this.tried.get(from) ?? new Set<string>();
    tried.add(choice.key);
    this.tried.set(from, tried);
    this.transitions.add(`${from}|${choice.key}|${choice.to}`);
    this.apply(choice);
    return [choice.event, this.observe()];
  }

  get current(): string {
    return this.stack.at(-1) ?? this.app.start;
  }

  private get screen(): ScreenModel {
    const screen = this.app.screens.get(this.current);
    if (!screen) throw new Error(`no screen ${this.current}`);
    return screen;
  }

  private choices(): Choice[] {
    const screen = this.screen;
    const layout = layoutOf(screen, this.visit);
    const id = (name: string) => `${this.app.appPackage}:id/${name}`;
    const choices: Choice[] = [];
    for (const { widget, bounds } of layout.widgets) {
      const className =
        widget.kind === 'edit'
          ? 'android.widget.EditText'
          : widget.kind === 'toggle'
            ? 'android.widget.Switch'
            : widget.kind === 'tab'
              ? 'android.widget.FrameLayout'
              : 'android.widget.Button';
      const target = { bounds, resourceId: id(widget.id), className };
      if (widget.kind === 'edit') {
        choices.push({
          key: widget.id,
          event: {
            type: 'action.performed',
            data: { actionType: 'input_text', target, inputText: `${widget.label} ${this.stamp}` },
          },
          to: screen.id,
        });
        continue;
      }
      const signingIn = screen.id === this.app.start && widget.to === this.app.home;
      const to =
        signingIn && !(this.typed.has('username') && this.typed.has('password')) ? screen.id : (widget.to ?? screen.id);
      choices.push({
        key: widget.id,
        event: { type: 'action.performed', data: { actionType: 'tap', target: { ...target, text: widget.label } } },
        to,
      });
    }
    if (screen.list && layout.listBounds) {
      const row = this.random.pick(layout.rows);
      choices.push({
        key: 'row',
        event: {
          type: 'action.performed',
          data: {
            actionType: 'tap',
            target: { bounds: row, resourceId: id('row'), className: 'android.widget.LinearLayout' },
          },
        },
        to: screen.list.rowTo,
      });
      choices.push({
        key: 'scroll',
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
        to: screen.id,
      });
    }
    if (this.stack.length > 1) {
      choices.push({
        key: 'back',
        event: { type: 'action.performed', data: { actionType: 'back' } },
        to: this.stack.at(-2) as string,
      });
    }
    return choices;
  }

  private choose(): Choice {
    const choices = this.choices();
    if (this.current === this.app.start && this.random.next() < 0.8) {
      // Past the login wall: both fields, then sign in.
      const next = ['username', 'password', 'sign_in'].find((key) => key === 'sign_in' || !this.typed.has(key));
      const choice = choices.find((c) => c.key === next);
      if (choice) return choice;
    }
    const tried = this.tried.get(this.current);
    const fresh = choices.filter((choice) => !tried?.has(choice.key));
    if (fresh.length > 0) return this.random.pick(fresh);
    const back = choices.find((choice) => choice.key === 'back');
    if (back && this.random.next() < 0.35) return back;
    return this.random.pick(choices);
  }

  private apply(choice: Choice): void {
    const screen = this.screen;
    if (choice.key === 'back') {
      this.stack.pop();
      this.arrive();
      return;
    }
    if (choice.to !== screen.id) {
      if (choice.to === this.app.home || choice.to === this.app.start) this.stack = [choice.to];
      else this.stack.push(choice.to);
      this.arrive();
      return;
    }
    // It stays: a field typed, a toggle flipped, the list scrolled, a sign-in refused.
    if (choice.event.data.actionType === 'input_text') this.typed.add(choice.key);
    if (screen.widgets.some((w) => w.id === choice.key && w.kind === 'toggle')) {
      const on = this.toggles.get(screen.id) ?? new Set<string>();
      if (!on.delete(choice.key)) on.add(choice.key);
      this.toggles.set(screen.id, on);
    }
    const offset =
      choice.key === 'scroll' ? this.random.int(0, Math.max(0, this.visit.rows - 1)) * ROW_HEIGHT : this.visit.offset;
    this.visit = { ...this.visit, offset, stamp: ++this.stamp, checked: new Set(this.toggles.get(screen.id)) };
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

  private observe(): AgentEvent {
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
}
