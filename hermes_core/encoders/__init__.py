"""Content encoders shared by the stages that embed text (encode, and retrieve for its queries):
pretrained models loaded offline, with their masks for missing content."""
