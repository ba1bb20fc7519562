# A benchmark table of every NAS-Bench-201 architecture with a synthetic,
# deterministic accuracy (more 3x3 convolutions score higher), for the
# tabular estimator in the shell tests: awk -f nb201_table.awk >table.csv
BEGIN {
  split("none skip_connect nor_conv_1x1 nor_conv_3x3 avg_pool_3x3", op, " ");
  print "arch,acc";
  for (c = 0; c < 15625; c++) {
    x = c; s = 0;
    for (i = 1; i <= 6; i++) { o[i] = op[x % 5 + 1]; s += (x % 5 == 3); x = int(x / 5) }
    printf "|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|,%.3f\n", o[1], o[2], o[3], o[4], o[5], o[6], 50 + 7 * s + (c % 97) / 100
  }
}
