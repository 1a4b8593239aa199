// Undo/redo over whole scenario documents: every accepted change pushes a snapshot.
import { clone } from "./util.js";

export class History {
  constructor(doc) { this.docs = [clone(doc)]; this.i = 0; }
  get doc() { return this.docs[this.i]; }
  get canUndo() { return this.i > 0; }
  get canRedo() { return this.i < this.docs.length - 1; }
  push(doc) { this.docs = this.docs.slice(0, this.i + 1); this.docs.push(clone(doc)); this.i += 1; }
  /** Forget the document just pushed (the API refused it). */
  drop() { this.docs = this.docs.slice(0, this.i); this.i -= 1; }
  undo() { if (this.canUndo) this.i -= 1; return this.doc; }
  redo() { if (this.canRedo) this.i += 1; return this.doc; }
}
