"""Checks of the training rows and of the uptraining's data mix (no model is trained here):

    .venv/bin/python -m unittest training/test_rows.py
"""

import sys
import unittest
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402
import uptrain  # noqa: E402

CONTEXT = 64
TOKENS = np.arange(10_000, dtype=np.uint16)  # every token differs, so a copy is easy to find


class DenseRepeatRowTest(unittest.TestCase):
    def test_reads_the_window_in_pieces_each_twice(self):
        row = train.dense_repeat_row(TOKENS, 500, CONTEXT, seed=7)
        self.assertEqual(row.shape, (CONTEXT + 1,))
        position, expected_start = 0, 500
        while position < len(row):
            # A piece starts where the previous one ended in the corpus and runs on consecutively.
            self.assertEqual(row[position], expected_start)
            size = 1
            while position + size < len(row) and row[position + size] == row[position] + size:
                size += 1
            self.assertGreaterEqual(size, min(8, len(row) - position))
            self.assertLessEqual(size, 64)
            second = row[position + size : position + 2 * size]
            np.testing.assert_array_equal(second, row[position : position + len(second)])
            position, expected_start = position + 2 * size, expected_start + size

    def test_the_same_seed_gives_the_same_row(self):
        first = train.dense_repeat_row(TOKENS, 40, CONTEXT, seed=3)
        np.testing.assert_array_equal(first, train.dense_repeat_row(TOKENS, 40, CONTEXT, seed=3))
        self.assertFalse(np.array_equal(first, train.dense_repeat_row(TOKENS, 40, CONTEXT, seed=4)))

    def test_dense_rows_start_with_the_phase(self):
        arguments = SimpleNamespace(steps=400, batch_size=2, seed=1, continue_from=300, dense_repeat_fraction=0.5)
        chosen = train.dense_repeat_rows(arguments)
        self.assertFalse(chosen[:300].any())
        self.assertTrue(0.35 < chosen[300:].mean() < 0.65)
        self.assertFalse(train.dense_repeat_rows(SimpleNamespace(**{**vars(arguments), "dense_repeat_fraction": 0.0})).any())


class UptrainingMixTest(unittest.TestCase):
    SOURCE = {
        "steps": 100,
        "phases": [
            {"from_step": 50, "to_step": 75, "repeat_fraction": 1.0},
            {"from_step": 75, "to_step": 100, "repeat_fraction": 0.0, "dense_repeat_fraction": 0.5},
        ],
    }

    def test_phased_mix_compresses_the_source_phases(self):
        shares = uptrain.row_shares(self.SOURCE, 20, "phased")
        np.testing.assert_array_equal(shares["repeat_fraction"], [0.0] * 10 + [1.0] * 5 + [0.0] * 5)
        np.testing.assert_array_equal(shares["dense_repeat_fraction"], [0.0] * 15 + [0.5] * 5)

    def test_overall_mix_is_the_share_over_the_whole_run(self):
        shares = uptrain.row_shares(self.SOURCE, 8, "overall")
        np.testing.assert_allclose(shares["repeat_fraction"], 0.25)
        np.testing.assert_allclose(shares["dense_repeat_fraction"], 0.125)


if __name__ == "__main__":
    unittest.main()
