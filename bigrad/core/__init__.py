"""The numpy-only layer: argument checks, stencil weights, the halo plan, block halos."""
