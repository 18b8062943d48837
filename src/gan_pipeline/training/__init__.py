"""The GAN and how it trains: the nets, the train step, the loop, its checkpoints and
runtime, the seeded noise, and the fingerprint of its state."""
