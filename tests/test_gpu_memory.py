"""Peak GPU memory as the status page reports it: nvidia-smi's answers, sampled while a chapter runs."""

import itertools
import time

from rlhfbook.book import gpu_memory


def test_used_bytes_sums_the_gpus_lines_in_mib():
    assert gpu_memory.used_bytes(("printf", "1024\n512\n")) == 1536 * 2**20


def test_used_bytes_is_none_without_nvidia_smi_or_with_a_failing_or_unreadable_answer():
    assert gpu_memory.used_bytes(("no-such-nvidia-smi-here",)) is None
    assert gpu_memory.used_bytes(("false",)) is None
    assert gpu_memory.used_bytes(("printf", "[N/A]\n")) is None


def test_the_sampler_keeps_the_largest_sample_taken_while_the_block_runs():
    values = itertools.chain([10, 30, 70, 20], itertools.repeat(5))
    with gpu_memory.PeakSampler(lambda: next(values), interval=0.01) as sampler:
        time.sleep(0.2)
    assert sampler.peak == 70


def test_the_sampler_measures_nothing_and_starts_no_thread_without_a_gpu():
    with gpu_memory.PeakSampler(lambda: None, interval=0.01) as sampler:
        time.sleep(0.05)
    assert sampler.peak is None and not sampler._thread.is_alive()
