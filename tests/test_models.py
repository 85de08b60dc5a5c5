import time

import pytest
import torch

from rlhfbook.lm import models
from rlhfbook.tasks import toyworld


def test_a_hub_id_without_network_fails_fast_and_points_to_the_cpu_profile():
    start = time.perf_counter()
    with pytest.raises(
        models.ModelUnavailable,
        match="could not fetch model 'Qwen/Qwen2.5-0.5B'.*'cpu' profile",
    ):
        models.load_policy("Qwen/Qwen2.5-0.5B")
    assert time.perf_counter() - start < 2.0


def test_local_folder_loads_policy_and_reward_model(tmp_path):
    tok = toyworld.build_tokenizer()
    torch.manual_seed(0)
    toyworld.new_model("tiny", tok).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    policy, ptok = models.load_policy(str(tmp_path))
    assert not policy.training and ptok.padding_side == "left"
    assert all(p.requires_grad for p in policy.parameters())
    frozen, _ = models.load_policy(tmp_path, frozen=True)
    assert not any(p.requires_grad for p in frozen.parameters())
    rm, _ = models.load_reward_model(tmp_path, ptok)
    ids = ptok(["food: fresh", "trip: dull"], return_tensors="pt", padding=True)
    assert rm(**ids).logits.shape == (2, 1)


def test_a_tokenizer_without_pad_gets_one_distinct_from_eos(tmp_path):
    tok = toyworld.build_tokenizer()
    tok.pad_token = tok.eos_token  # what many hub tokenizers ship
    tok.save_pretrained(tmp_path)
    loaded = models.load_tokenizer(tmp_path)
    assert loaded.pad_token_id != loaded.eos_token_id


# --- hub access per profile, and one-line failures before any training -------------------------

import os  # noqa: E402
import sys  # noqa: E402

from rlhfbook.book import profiles, start  # noqa: E402
from rlhfbook.core import environment, runtime  # noqa: E402

_HUB_ENV = (
    "HF_HUB_OFFLINE",
    "RLHFBOOK_ONLINE",
    "RLHFBOOK_PROFILE",
    "_RLHFBOOK_SET_HF_HUB_OFFLINE",
)


@pytest.fixture
def hub_state():
    """Restore the hub switches (environment and the imported libraries' flags) after a test."""
    import datasets.config
    import huggingface_hub.constants

    saved = {k: os.environ.get(k) for k in _HUB_ENV}
    flags = (huggingface_hub.constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE)
    yield huggingface_hub.constants
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    huggingface_hub.constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE = flags
    datasets.config.HF_DATASETS_OFFLINE = flags[1]


def test_hub_access_is_on_in_gpu_only_and_env_overrides(monkeypatch):
    monkeypatch.delenv("RLHFBOOK_ONLINE", raising=False)
    monkeypatch.delenv("RLHFBOOK_PROFILE", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert [environment.online(p) for p in profiles.PROFILES] == [
        False,
        False,
        True,
        True,
    ]
    monkeypatch.setenv("RLHFBOOK_PROFILE", "gpu")
    assert environment.online()
    monkeypatch.setenv("RLHFBOOK_ONLINE", "0")
    assert not environment.online("gpu")
    monkeypatch.setenv("RLHFBOOK_ONLINE", "1")
    assert environment.online("cpu")


def test_resolve_external_turns_the_hub_on_for_gpu_and_off_again(
    hub_state, monkeypatch, tmp_path
):
    monkeypatch.delenv("RLHFBOOK_ONLINE", raising=False)
    os.environ.pop("HF_HUB_OFFLINE", None)
    environment.set_hub_access(False)  # as environment.prepare does in the cpu profile
    assert os.environ["HF_HUB_OFFLINE"] == "1" and hub_state.HF_HUB_OFFLINE is True
    fetched = []
    monkeypatch.setattr(
        models, "_fetch_hub", lambda name, kind: fetched.append((name, kind))
    )
    P = profiles.resolve(
        "03_pf_ppo", "gpu", dataset=str(tmp_path)
    )  # a local dataset folder
    assert models.resolve_external(P) == {
        "model_name": "Qwen/Qwen2.5-Coder-0.5B-Instruct",
        "dataset": str(tmp_path),
    }
    assert fetched == [
        ("Qwen/Qwen2.5-Coder-0.5B-Instruct", "model")
    ]  # downloaded now, before training
    assert "HF_HUB_OFFLINE" not in os.environ and hub_state.HF_HUB_OFFLINE is False
    assert models.resolve_external(profiles.resolve("03_pf_ppo", "cpu")) == {}
    assert os.environ["HF_HUB_OFFLINE"] == "1" and hub_state.HF_HUB_OFFLINE is True


def test_a_users_own_hf_hub_offline_is_kept(hub_state, monkeypatch):
    monkeypatch.delenv("_RLHFBOOK_SET_HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    environment.set_hub_access(True)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and hub_state.HF_HUB_OFFLINE is True


def test_an_unknown_hub_id_offline_is_one_line_before_training(hub_state, monkeypatch):
    monkeypatch.setenv("RLHFBOOK_ONLINE", "0")
    P = profiles.resolve("02_dpo_ranking", "gpu", model_name="nobody/no-such-model")
    start = time.perf_counter()
    with pytest.raises(models.ModelUnavailable) as info:
        models.resolve_external(P)
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert (
        "\n" not in message
        and "'nobody/no-such-model'" in message
        and "offline" in message
    )
    assert "RLHFBOOK_ONLINE=1" in message
    assert isinstance(
        info.value, profiles.ParameterError
    )  # shown as one line in a notebook


def test_a_missing_local_path_is_one_line_naming_it(tmp_path):
    missing = tmp_path / "no-model-here"
    with pytest.raises(
        models.ModelUnavailable,
        match=r"^could not fetch model '.*no-model-here': no such local "
        r"folder",
    ) as info:
        models.resolve_external(
            profiles.resolve("03_pf_ppo", "smoke", model_name=str(missing))
        )
    assert "\n" not in str(info.value)
    with pytest.raises(
        models.ModelUnavailable,
        match="could not fetch dataset 'pairs.jsonl': no such local file",
    ):
        models.resolve_external(
            profiles.resolve("02_dpo_ranking", "smoke", dataset="pairs.jsonl")
        )


def test_an_endpoint_model_name_is_not_fetched(hub_state, monkeypatch):
    monkeypatch.setattr(
        models,
        "_fetch_hub",
        lambda name, kind: pytest.fail("fetched an endpoint's model name"),
    )
    P = profiles.resolve(
        "05_strategic_games",
        "gpu",
        endpoint="http://localhost:8000/v1",
        model_name="served",
    )
    assert models.resolve_external(P) == {}


def test_hub_errors_become_one_line(hub_state, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError

    def not_found(*args, **kwargs):
        from types import SimpleNamespace

        response = SimpleNamespace(headers={}, request=None, status_code=404)
        raise RepositoryNotFoundError(
            "404 Client Error\n" + "x\n" * 100, response=response
        )

    def no_network(*args, **kwargs):
        raise ConnectionError("Max retries exceeded\n" + "  File ...\n" * 100)

    monkeypatch.setenv("RLHFBOOK_ONLINE", "1")
    for raiser, words in (
        (not_found, "no such dataset on the Hugging Face hub"),
        (no_network, "could not be reached"),
    ):
        monkeypatch.setattr(huggingface_hub, "snapshot_download", raiser)
        with pytest.raises(models.ModelUnavailable, match=words) as info:
            models.resolve_external({"dataset": "nobody/pairs"})
        assert "\n" not in str(info.value)


def test_the_notebook_shows_model_unavailable_as_one_line(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        start.show_errors_as_one_line()
        shell.run_cell(
            "from rlhfbook.lm import models\nmodels.resolve_external({'model_name': './no/such/model'})"
        )
        out = capsys.readouterr().out.strip().splitlines()
        assert out == [
            "ModelUnavailable: could not fetch model './no/such/model': no such local folder "
            f"({os.path.abspath('./no/such/model')} does not exist)."
        ]
    finally:
        InteractiveShell.clear_instance()


# --- dtype per device -------------------------------------------------------------------------


@pytest.fixture(autouse=False)
def tf32_off():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.mark.parametrize(
    "device,bf16,trainable,expected",
    [
        ("cpu", False, False, torch.float32),
        ("cpu", True, True, torch.float32),
        ("cuda", True, False, torch.bfloat16),
        ("cuda", True, True, torch.float32),
        ("cuda", False, False, torch.float16),
        ("cuda", False, True, torch.float32),
    ],
)
def test_dtype_for_follows_the_decision_table(
    monkeypatch, tf32_off, device, bf16, trainable, expected
):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert runtime.dtype_for(device, trainable=trainable) == expected
    assert torch.backends.cuda.matmul.allow_tf32 is (
        device == "cuda"
    )  # TF32 on for CUDA only
    assert torch.backends.cudnn.allow_tf32 is (device == "cuda")


def fake_gpu(monkeypatch, major: int, minor: int) -> None:
    """A CUDA device of compute capability ``major.minor`` under torch's real ``is_bf16_supported``:
    only what a CPU build cannot answer is faked, and bf16 tensors can be created on it, as on a
    T4, where torch emulates bf16 without tensor cores."""
    from types import SimpleNamespace

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(
        torch.cuda,
        "get_device_properties",
        lambda d=None: SimpleNamespace(major=major, minor=minor),
    )
    monkeypatch.setattr(torch.cuda, "_check_bf16_tensor_supported", lambda d: True)


@pytest.mark.parametrize(
    "major,minor,half",
    [(7, 5, torch.float16), (8, 0, torch.bfloat16), (9, 0, torch.bfloat16)],
)
def test_a_t4_gets_fp16_not_emulated_bf16(monkeypatch, tf32_off, major, minor, half):
    fake_gpu(monkeypatch, major, minor)
    assert torch.cuda.is_bf16_supported()  # torch counts the T4's emulated bf16
    assert runtime.dtype_for("cuda") == half
    assert runtime.autocast_dtype("auto", "cuda") == half
    assert runtime.trainer_precision("auto") == {
        "bf16": half == torch.bfloat16,
        "fp16": half == torch.float16,
    }


@pytest.mark.parametrize(
    "cuda,bf16,autocast,expected",
    [
        (False, False, "auto", {"bf16": False, "fp16": False}),
        (True, True, "auto", {"bf16": True, "fp16": False}),
        (True, False, "auto", {"bf16": False, "fp16": True}),
        (
            True,
            False,
            "float32",
            {"bf16": False, "fp16": False},
        ),  # a T4 whose fp16 overflows
        (True, True, None, {"bf16": False, "fp16": False}),
        (True, True, "float16", {"bf16": False, "fp16": True}),
        (False, False, "bfloat16", {"bf16": True, "fp16": False}),
    ],
)
def test_trainer_precision_is_bf16_else_fp16_with_loss_scaling(
    monkeypatch, tf32_off, cuda, bf16, autocast, expected
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert runtime.trainer_precision(autocast) == expected
    assert (
        torch.backends.cuda.matmul.allow_tf32 is cuda
    )  # TF32 on a GPU, whatever the autocast


def test_an_unknown_autocast_setting_is_one_error_line():
    from rlhfbook.methods import ppo

    for make in (
        lambda: runtime.trainer_precision("fp16"),
        lambda: ppo.PPOConfig(autocast="half"),
    ):
        with pytest.raises(
            ValueError, match=r"autocast='(fp16|half)'; valid: 'auto', 'bfloat16'"
        ) as error:
            make()
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("config", ["RewardConfig", "DPOConfig", "GRPOConfig"])
def test_every_trl_config_takes_the_shared_trainer_settings(
    monkeypatch, tf32_off, tmp_path, config
):
    import trl

    settings = runtime.trainer_settings(str(tmp_path), seed=7)
    args = getattr(trl, config)(**settings)
    assert (args.seed, args.data_seed, args.use_cpu, args.bf16, args.fp16) == (
        7,
        7,
        True,
        False,
        False,
    )
    assert (args.report_to, args.save_strategy, args.disable_tqdm) == ([], "no", True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    on_t4 = runtime.trainer_settings(str(tmp_path), seed=7)
    assert (on_t4["use_cpu"], on_t4["fp16"], on_t4["bf16"]) == (False, True, False)


def test_models_load_in_the_dtype_for_their_use(monkeypatch, tmp_path):
    tok = toyworld.build_tokenizer()
    toyworld.new_model("tiny", tok).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    asked = []
    real = runtime.dtype_for
    monkeypatch.setattr(
        runtime,
        "dtype_for",
        lambda device, trainable=False: (
            asked.append(trainable) or real(device, trainable)
        ),
    )
    models.load_policy(tmp_path)
    models.load_policy(tmp_path, sample_only=True)
    models.load_reward_model(tmp_path, sample_only=True)
    assert asked == [True, False, False]


def test_a_pad_that_is_one_of_the_end_tokens_is_replaced(tmp_path):
    from rlhfbook.testing import standin

    folder = standin.build(tmp_path)
    tok = standin.build_tokenizer()
    tok.pad_token = (
        standin.END_OF_TEXT
    )  # as Qwen2.5 ships: its pad is its second end token
    tok.save_pretrained(folder)
    loaded = models.load_tokenizer(folder)
    assert loaded.pad_token == "<pad>" and loaded.pad_token_id not in (
        loaded.convert_tokens_to_ids(standin.END_OF_TURN),
        loaded.convert_tokens_to_ids(standin.END_OF_TEXT),
    )


def test_in_fp16_reads_the_weights_and_the_autocast_of_the_models_device():
    linear = torch.nn.Linear(2, 2)
    assert not runtime.in_fp16(linear) and runtime.in_fp16(torch.nn.Linear(2, 2).half())
    with torch.autocast("cpu", dtype=torch.float16):
        assert runtime.in_fp16(linear)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not runtime.in_fp16(linear)
