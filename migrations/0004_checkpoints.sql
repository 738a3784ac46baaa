-- Training checkpoints (issue 7): the learners that train in epochs (mlp, tabseq) hand their
-- whole state to svc-train after every finished epoch; it keeps the latest one per run here,
-- so that a worker that dies mid-run is replaced by one that resumes from that epoch instead
-- of starting over. The row goes when the run ends; it goes with the run too.
CREATE TABLE run_checkpoints (
    run_id      uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    epoch       integer NOT NULL CHECK (epoch >= 1),
    state       bytea NOT NULL,           -- lib/algo/nn.c's checkpoint (CRC-checked)
    updated_at  timestamptz NOT NULL DEFAULT now()
);
