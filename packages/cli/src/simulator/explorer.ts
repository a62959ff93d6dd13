import type { AgentEvent } from '@screengraph/client';
import type { AppModel } from './app-model.js';
import { type Choice, SimulatedDevice } from './device.js';

/**
 * A simulated exploring agent without memory, as DroidBot's and Fastbot's runs are: on each
 * screen it prefers what it has not tried there during this run, backs out of dead ends, and gets
 * past the login wall by typing both fields. It drives a SimulatedDevice, which records the part
 * of the app it visited (what the projected graph must equal).
 */
export class SimulatedExplorer {
  private readonly tried = new Map<string, Set<string>>();

  constructor(readonly device: SimulatedDevice) {}

  /** An explorer of `app` on a device of its own. */
  static of(app: AppModel, seed: number): SimulatedExplorer {
    return new SimulatedExplorer(new SimulatedDevice(app, seed));
  }

  get app(): AppModel {
    return this.device.app;
  }

  /** Screens seen. */
  get visited(): ReadonlySet<string> {
    return this.device.visited;
  }

  /** `from|action|to` of every transition taken. */
  get transitions(): ReadonlySet<string> {
    return this.device.transitions;
  }

  get current(): string {
    return this.device.current;
  }

  /** Launches the app: the first observation. */
  start(): AgentEvent[] {
    this.device.launch();
    return [this.device.observe()];
  }

  /** One action and the observation after it. */
  step(): AgentEvent[] {
    const from = this.device.current;
    const choice = this.choose();
    const tried = this.tried.get(from) ?? new Set<string>();
    tried.add(choice.key);
    this.tried.set(from, tried);
    this.device.perform(choice.event.data);
    return [choice.event, this.device.observe()];
  }

  private choose(): Choice {
    const { device } = this;
    const choices = device.choices();
    if (device.current === this.app.start && device.random.next() < 0.8) {
      // Past the login wall: both fields, then sign in.
      const field = ['username', 'password'].find((id) => !device.hasTyped(id));
      const next = field === undefined ? 'tap:sign_in' : `input_text:${field}`;
      const choice = choices.find((c) => c.key === next);
      if (choice) return choice;
    }
    const tried = this.tried.get(device.current);
    const fresh = choices.filter((choice) => !tried?.has(choice.key));
    if (fresh.length > 0) return device.random.pick(fresh);
    const back = choices.find((choice) => choice.key === 'back');
    if (back && device.random.next() < 0.35) return back;
    return device.random.pick(choices);
  }
}
