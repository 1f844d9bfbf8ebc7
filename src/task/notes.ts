// What an archived record says beside its outcome about the task's other processes, in one place.

const processes = (n: number) => `${n} process${n === 1 ? '' : 'es'}`;
const were = (n: number) => (n === 1 ? 'was' : 'were');

/** Processes the command left running when it exited by itself; they are ended with it. */
export const leftBehindNote = (n: number): string => `it left ${processes(n)} behind, which ${were(n)} terminated`;

/** Processes that carry the task's mark but left its process group: only a cgroup holds them. */
export const escapedNote = (n: number): string => `${processes(n)} that had left its process group ${were(n)} left running (no cgroup here to hold them)`;

/** Processes in the task's group that carry no mark of it: perhaps not its own, so never signalled. */
export const unprovenNote = (n: number, pgid: number): string =>
  `${processes(n)} in its process group ${pgid} ${n === 1 ? 'carries' : 'carry'} no mark of it (the number may belong to another process now) and ${were(n)} not signalled`;
