# Sourced by the MPI tests: same_losses A B EPOCHS — the per-epoch training
# losses of two runs' metrics.jsonl agree within 1e-3 relative (prints the
# worst difference; fails if any differ or there are not EPOCHS lines).
same_losses() {
    paste -d' ' "$1/metrics.jsonl" "$2/metrics.jsonl" | awk -v want="$3" '{
        n = split($0, f, "\"train_loss\":"); split(f[2], a, ","); split(f[3], b, ",");
        d = a[1] - b[1]; if (d < 0) d = -d; r = d / b[1]; if (r > worst) worst = r;
        if (r > 1e-3) bad = 1; lines++ }
        END { printf "per-epoch train loss: worst relative difference %.2g over %d epochs\n", worst, lines; exit bad || lines != want }'
}
