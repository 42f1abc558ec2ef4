from rupture_nlp.cli import main

main()
