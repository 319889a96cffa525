import { type KeyObject, randomUUID } from "node:crypto";
import type { CommandFields, WireCommand } from "./mapping.js";

/** A device the simulated Nordic identity database knows: its identity public key. */
export interface SimIdentity {
  deviceUuid: string;
  publicKey: KeyObject;
  imei?: string | undefined;
}

export interface SimClaimedDevice {
  id: string;
  deviceType: string;
  firmwareId: string;
  imei?: string | undefined;
  ownerId: string;
  ownershipStatus: string;
  status: string;
  tags: string[];
  claimedAt: string;
}

export type SimCommandStatus = "PENDING" | "IN_PROGRESS" | "SUCCEEDED" | "FAILED" | "CANCELLED";

export interface SimCommand {
  id: string;
  deviceUuid: string;
  description?: string | undefined;
  /** The REST command type (`certificateSigningRequest`, …) and its fields. */
  type: string;
  fields: CommandFields;
  status: SimCommandStatus;
  response?: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  /** Order in the device's queue; correlation IDs carry it. */
  sequence: number;
  wire: WireCommand[];
  /** The rule that added it, if any. */
  ruleId?: string | undefined;
}

/** What adding a command takes: its REST type and fields, and where it came from. */
export type NewSimCommand = Pick<SimCommand, "type" | "fields" | "description" | "ruleId">;

export interface SimRule {
  id: string;
  name: string;
  description?: string | undefined;
  active: boolean;
  tags: string[];
  commands: Array<{ request: Record<string, CommandFields> }>;
  createdAt: string;
}

/** Everything the simulated service knows, in memory. */
export class ProvisioningState {
  readonly identities = new Map<string, SimIdentity>();
  readonly claimed = new Map<string, SimClaimedDevice>();
  readonly commands = new Map<string, SimCommand[]>();
  readonly rules: SimRule[] = [];
  readonly tags = new Map<string, { tag: string; description?: string | undefined }>();
  /** Rules already expanded for a device (a rule adds its commands once). */
  readonly appliedRules = new Map<string, Set<string>>();
  /** Correlation ID → command and step. */
  readonly correlations = new Map<string, { command: SimCommand; step: number }>();
  /** The row count of every bulk claim request received, in order. */
  readonly bulkClaims: number[] = [];
  private sequence = 0;

  constructor(readonly now: () => number) {}

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  queue(deviceUuid: string): SimCommand[] {
    let queue = this.commands.get(deviceUuid);
    if (!queue) {
      queue = [];
      this.commands.set(deviceUuid, queue);
    }
    return queue;
  }

  /** Commands still to be run (the 20-command limit counts these). */
  openCommands(deviceUuid: string): SimCommand[] {
    return this.queue(deviceUuid).filter(
      (command) => command.status === "PENDING" || command.status === "IN_PROGRESS",
    );
  }

  addCommand(
    deviceUuid: string,
    input: NewSimCommand,
    wireFor: (main: string) => WireCommand[],
  ): SimCommand {
    this.sequence += 1;
    const id = randomUUID();
    const main = `${id}.${this.sequence.toString(16)}`;
    const now = this.iso();
    const command: SimCommand = {
      id,
      deviceUuid,
      type: input.type,
      fields: input.fields,
      description: input.description,
      ruleId: input.ruleId,
      status: "PENDING",
      createdAt: now,
      updatedAt: now,
      sequence: this.sequence,
      wire: wireFor(main),
    };
    command.wire.forEach((wire, step) => {
      this.correlations.set(wire[0], { command, step });
    });
    this.queue(deviceUuid).push(command);
    return command;
  }

  setStatus(command: SimCommand, status: SimCommandStatus, response?: Record<string, unknown>) {
    command.status = status;
    command.updatedAt = this.iso();
    if (response !== undefined) command.response = response;
  }

  /** The failed command's queue is emptied: every later open command is cancelled. */
  cancelAfter(failed: SimCommand): number {
    const later = this.openCommands(failed.deviceUuid).filter((c) => c.sequence > failed.sequence);
    for (const command of later) this.setStatus(command, "CANCELLED");
    return later.length;
  }
}

/** The REST view of a command. */
export function commandJson(command: SimCommand): Record<string, unknown> {
  return {
    id: command.id,
    status: command.status,
    description: command.description,
    request: { [command.type]: command.fields },
    response: command.response,
    createdAt: command.createdAt,
    updatedAt: command.updatedAt,
  };
}
